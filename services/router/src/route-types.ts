import type { PriceCatalog } from "@costwise/pricing";
import type { DistilledSwitch, FallbackInfo, ShadowEntry } from "@costwise/route-state";
import type { LlmRequest, Message, QueryEmbedding, RouteDecision } from "@costwise/schemas";
import type { ChatPort } from "./strategies/llm.ts";

/** The router's own embedder, used only when the cache did not put a vector of the same model on the request. */
export interface RouteEmbedder {
  readonly name: string;
  embed(text: string, signal?: AbortSignal): Promise<{ vector: Float32Array; costNanoUsd: number }>;
}

export interface RouteDeps {
  readonly catalog: PriceCatalog;
  /** For strategy "llm"; when absent those use cases go to the last tier. */
  readonly llm: ChatPort | null;
  /** The route's fallback state, as last read from the shared store. */
  readonly fallback: (useCase: string, tier: string) => FallbackInfo | null;
  /** The exact messages a model would get for this request (renderMessages from @costwise/executor). */
  readonly renderMessages: (req: LlmRequest) => Message[];
  /** The use case's distilled-model switch for this tenant, when one is in force (see distilled.ts). */
  readonly distilled?: (tenant: string, useCase: string) => DistilledSwitch | null;
  /** For strategy "semantic" when the request carries no usable embedding; absent: those requests go to the last tier. */
  readonly embedder?: RouteEmbedder | null;
  /** A semantic use case's threshold as re-calibrated from shadow results; null or absent: the policy's. */
  readonly semanticThreshold?: (useCase: string) => number | null;
  /** The clock model retirements are read against (epoch ms); absent: Date.now. */
  readonly now?: () => number;
}

/** Why the request got its tier, for metrics (the decision's `reason` has the detail). */
export type RouteKind = "routed" | "forced" | "holdout" | "fallback" | "passthrough" | "not-cheaper" | "router-error" | "distilled";

export interface RouteOutcome {
  readonly route: RouteDecision | null;
  readonly kind: RouteKind;
  /** nano-USD the router itself spent (LLM-as-router calls). */
  readonly overheadNanoUsd: number;
  readonly shadow: ShadowEntry | null;
  /** The query embedding the router computed itself (none on the request), for later stages. */
  readonly embedding?: QueryEmbedding;
}
