import type { RouteInput } from "../input.ts";

/**
 * The text the router embeds: the last user message normalised as the cache normalises its
 * semantic query (NFKC, whitespace runs collapsed), so the cache's vector (pipeline.embedding) is
 * the router's feature and a request is never embedded twice. Earlier turns reach the router
 * through the shape features.
 */
export function embeddingTextOf(input: Pick<RouteInput, "lastUser">): string {
  return input.lastUser.normalize("NFKC").replace(/\s+/gu, " ").trim();
}
