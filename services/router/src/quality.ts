import type { QualityPolicy } from "./policy.ts";
import type { FallbackInfo } from "./route.ts";

/** Share of agreeing comparisons in a window of 1/0 outcomes; null for an empty window. */
export function agreementRate(window: readonly number[]): number | null {
  if (window.length === 0) return null;
  return window.reduce((s, x) => s + x, 0) / window.length;
}

export interface FallbackStep {
  readonly state: FallbackInfo | null;
  readonly transition: "enter" | "recover" | null;
  readonly rate: number | null;
}

/**
 * The route's fallback state after its window changed. A route falls back once it has
 * minSamples comparisons and their agreement rate is below the floor; it recovers when the rate
 * climbs to floor + recoverMargin (the margin stops it flapping around the floor).
 */
export function nextFallback(current: FallbackInfo | null, window: readonly number[], q: QualityPolicy, now: number): FallbackStep {
  const rate = agreementRate(window);
  if (rate === null || window.length < q.minSamples) return { state: current, transition: null, rate };
  if (!current && rate < q.floor) return { state: { since: now, agreement: rate, samples: window.length, floor: q.floor }, transition: "enter", rate };
  if (current && rate >= q.floor + q.recoverMargin) return { state: null, transition: "recover", rate };
  if (current) return { state: { ...current, agreement: rate, samples: window.length }, transition: null, rate };
  return { state: null, transition: null, rate };
}
