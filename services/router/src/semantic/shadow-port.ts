import type { ShadowOutcome } from "./calibration.ts";

/**
 * The narrow port through which calibration reads what the shadow side stored: the most recent
 * decided comparisons of one cheap route (not taken while in fallback, when the frontier served),
 * with the router score each request had. The shadow consumer owns how they are judged and kept.
 */
export interface ShadowResults {
  recent(route: { useCase: string; tier: string }, limit: number): Promise<ShadowOutcome[]>;
}
