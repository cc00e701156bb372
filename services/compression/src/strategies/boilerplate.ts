import { createHash } from "node:crypto";
import type { ContextChunk } from "@costwise/schemas";
import type { z } from "zod";
import type { BoilerplateStore } from "../boilerplate-store.ts";
import type { boilerplateSchema } from "../policy.ts";
import { splitSentences } from "../text.ts";
import type { StepInput, StepResult, Strategy } from "./types.ts";

export type BoilerplateParams = z.infer<typeof boilerplateSchema>;

const ENTITIES: Record<string, string> = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&apos;": "'", "&nbsp;": " " };

/** Remove scripts, styles, comments and tags; block-level tags become line breaks. */
export function stripHtml(text: string): string {
  return text
    .replace(/<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<\/?(p|div|br|li|ul|ol|tr|table|h[1-6]|section|article|header|footer|nav)\b[^>]*>/gi, "\n")
    .replace(/<\/?[a-z][a-z0-9-]*\b[^>]*>/gi, " ")
    .replace(/&(amp|lt|gt|quot|#39|apos|nbsp);/g, (m) => ENTITIES[m] ?? m);
}

// Zero-width characters and soft hyphens cost tokens and carry nothing.
const INVISIBLE = /[\u00AD\u200B-\u200D\u2060\uFEFF]/g;
// Lines made only of rule or decoration characters ("-----", "* * *", "====").
const DECORATION = /^[\s\-=_*~#|+.•·]{3,}$/;

/** Whitespace and markup normalisation: the text's words are untouched. */
export function normaliseText(text: string, stripMarkup = false): string {
  const t = (stripMarkup ? stripHtml(text) : text).replace(/\r\n?/g, "\n").replace(INVISIBLE, "");
  const lines = t.split("\n").map((l) => l.replace(/[ \t\f\v\u00A0]+/g, " ").trim());
  return lines
    .filter((l) => !DECORATION.test(l))
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** The identity of a segment across requests: case, digits and spacing do not matter ("Page 3 of 9"). */
export function segmentKey(segment: string): string {
  const norm = segment.toLowerCase().replace(/\d+/g, "0").replace(/\s+/g, " ").trim();
  return createHash("sha1").update(norm).digest("hex").slice(0, 16);
}

interface Segmented {
  /** Lines of the chunk, each a list of sentences (raw text). */
  readonly lines: readonly (readonly string[])[];
}

const segment = (text: string): Segmented => ({ lines: text.split("\n").map((l) => splitSentences(l).map((s) => s.text)) });

/** Deterministic sampling by request id, so a redelivered request is sampled the same way. */
function sampled(requestId: string, rate: number): boolean {
  if (rate >= 1) return true;
  return createHash("sha1").update(requestId).digest().readUInt32BE(0) / 0x1_0000_0000 < rate;
}

export interface BoilerplateDeps {
  readonly store: BoilerplateStore | null;
  readonly now: () => number;
  readonly onStoreError?: (err: unknown) => void;
}

/**
 * Boilerplate removal: normalise whitespace (and markup), then drop the lines and sentences that
 * recur in a large share of the use case's recent requests (headers, disclaimers, navigation),
 * as counted in the store. The store is consulted before this request is counted. When the store
 * is unreachable the context is only normalised: compression is an optimisation, never a failure.
 */
export async function removeBoilerplate(p: BoilerplateParams, deps: BoilerplateDeps, input: Pick<StepInput, "chunks" | "useCase" | "requestId" | "logger">): Promise<ContextChunk[]> {
  const normalised = input.chunks.map((c) => ({ ...c, text: normaliseText(c.text, p.strip_html) }));
  if (!p.learn || !deps.store) return normalised.filter((c) => c.text !== "");

  const segmented = normalised.map((c) => segment(c.text));
  const eligible = (s: string) => s.trim().length >= p.min_segment_chars;
  const keys = [...new Set(segmented.flatMap((c) => c.lines.flat().filter(eligible).map(segmentKey)))];
  let removable = new Set<string>();
  try {
    const stats = await deps.store.observe(input.useCase, keys, sampled(input.requestId, p.sample_rate), deps.now());
    if (stats.requests >= p.min_requests) removable = new Set(keys.filter((k) => (stats.shares.get(k) ?? 0) >= p.min_share));
  } catch (err) {
    deps.onStoreError?.(err);
    input.logger.warn({ err: (err as Error).message, useCase: input.useCase }, "boilerplate store unavailable: normalising only");
  }

  const out: ContextChunk[] = [];
  normalised.forEach((c, i) => {
    const text = removable.size === 0
      ? c.text
      : segmented[i]!.lines
          .flatMap((sentences) => {
            const kept = sentences.filter((s) => !(eligible(s) && removable.has(segmentKey(s)))).join("").trim();
            // A line emptied by removal disappears; an originally blank line still separates paragraphs.
            return kept === "" && sentences.length > 0 ? [] : [kept];
          })
          .join("\n")
          .replace(/\n{3,}/g, "\n\n")
          .trim();
    if (text !== "") out.push({ id: c.id, text, score: c.score });
  });
  return out;
}

export function boilerplateStrategy(p: BoilerplateParams, deps: BoilerplateDeps): Strategy {
  return { name: "boilerplate", run: async (input): Promise<StepResult> => ({ chunks: await removeBoilerplate(p, deps, input) }) };
}
