/** One `costwise.route_shadow` row: a shadow comparison of a route's cheap and frontier answers. */
export interface ShadowRow {
  request_id: string;
  tenant: string;
  use_case: string;
  /** ClickHouse DateTime text, UTC. */
  ts: string;
  judged_at: string;
  cheap_tier: string;
  frontier_tier: string;
  route_strategy: string;
  route_score: number;
  served_model: string;
  shadow_model: string;
  cheap_model: string;
  frontier_model: string;
  fallback_active: number;
  judge: string;
  agreement: number;
  agreed: number;
  decided: number;
  judge_error: string;
  cheap_answer_chars: number;
  frontier_answer_chars: number;
  shadow_input_tokens: number;
  shadow_output_tokens: number;
  shadow_cost_nanousd: number;
  judge_cost_nanousd: number;
  price_catalog_version: string;
  version: number;
}

/** One `costwise.route_fallback_events` row: a route entering or leaving automatic fallback. */
export interface FallbackEventRow {
  ts: string;
  use_case: string;
  tier: string;
  transition: "enter" | "recover" | "reset";
  agreement: number;
  samples: number;
  floor: number;
  request_id: string;
}

export const SHADOW_TABLES = { comparisons: "route_shadow", fallbackEvents: "route_fallback_events" } as const;

export function chDateTime(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19).replace("T", " ");
}
