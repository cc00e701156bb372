/**
 * When may a semantic neighbour's answer be served? Not when its similarity passes a fixed number:
 * a threshold tuned on some intents serves wrong answers on others, because how similar two
 * questions must be to share an answer depends on how crowded their neighbourhood is. Instead the
 * cache learns from the traffic it sees, at two levels:
 *
 * - **Calibration** (per tenant, use case and embedding model): every verified reuse outcome
 *   (similarity, interchangeable?) lands in a similarity bin. The rate of wrong answers among
 *   would-be hits at or above a similarity t is estimated from those bins, weighted by how much
 *   traffic each bin carries; the serving threshold is the lowest t whose one-sided upper
 *   confidence bound on that rate is within δ. With no evidence nothing is served.
 * - **Entry evidence**: each cached entry keeps its own outcomes. An entry that was already found
 *   NOT interchangeable with a query at similarity s_w refuses every candidate up to s_w plus a
 *   margin (its own decision boundary is above that, whatever the calibration says); an entry
 *   that several queries already reused correctly at lower similarity is trusted a little below
 *   the calibrated threshold.
 *
 * A budgeted share of would-be hits is sent to the model anyway (exploration): those outcomes are
 * the only unbiased evidence above the threshold, and keep it honest as traffic drifts. Requests
 * that end just below the boundary are answered by the model as usual and their answer is judged
 * against the neighbour's off the request path (near-miss verification): that evidence is free of
 * model calls.
 */

/** One verified reuse outcome: a query at this similarity to an entry was (not) interchangeable with it. */
export interface Outcome {
  readonly similarity: number;
  readonly ok: boolean;
}

export interface DecisionParams {
  /** δ: the rate of wrong answers among semantic hits the use case accepts. */
  readonly maxWrongRate: number;
  /** One-sided confidence of the upper bound on the wrong rate (e.g. 0.95). */
  readonly confidence: number;
  /** Share of would-be hits sent to the model anyway to keep evidence above the threshold flowing. */
  readonly exploreRate: number;
  /** Candidates below this similarity are too far to be worth verifying (no evidence, plain miss). */
  readonly floor: number;
}

/** Similarity bins of the calibration: [BIN_LOW, 1] in steps of BIN_WIDTH. */
export const BIN_LOW = 0.5;
export const BIN_WIDTH = 0.005;
export const BIN_COUNT = Math.round((1 - BIN_LOW) / BIN_WIDTH) + 1;
const BINS = BIN_COUNT;
/** An entry's wrong outcome vetoes candidates up to this much above its similarity. */
export const VETO_MARGIN = 0.02;
/** How far below the calibrated threshold a well-proven entry may serve, per correct reuse below it, and at most. */
export const CREDIT_STEP = 0.005;
export const CREDIT_MAX = 0.015;
/** Outcomes kept per entry (the newest). */
export const MAX_ENTRY_OUTCOMES = 32;

export const binOf = (s: number) => (s < BIN_LOW ? -1 : Math.min(BINS - 1, Math.floor((s - BIN_LOW) / BIN_WIDTH)));
const binLow = (b: number) => BIN_LOW + b * BIN_WIDTH;

/** Inverse of the standard normal CDF (Acklam's rational approximation; |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile of ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** Wilson score upper bound of a proportion (wrong of n) at one-sided z. */
export function wilsonUpper(wrong: number, n: number, z: number): number {
  if (n <= 0) return 1;
  const p = wrong / n;
  const z2 = z * z;
  return Math.min(1, (p + z2 / (2 * n) + z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n));
}

/** Counts per similarity bin: traffic (every top candidate seen), and verified outcomes. */
export interface CalibrationState {
  readonly traffic: number[];
  readonly labelled: number[];
  readonly wrong: number[];
}

export const emptyCalibration = (): CalibrationState => ({ traffic: new Array<number>(BINS).fill(0), labelled: new Array<number>(BINS).fill(0), wrong: new Array<number>(BINS).fill(0) });

/**
 * The calibrated threshold of one tenant, use case and model: the lowest bin boundary t at which
 * the traffic-weighted wrong rate of would-be hits in [t, 1] has an upper confidence bound within δ.
 * Each bin's wrong rate is its own verified outcomes' rate (unbiased whatever share of the bin was
 * verified, since near misses are all verified and hits a random explored share). A bin with
 * traffic but no verified outcome yet takes the rate of the nearest verified bin below it: wrong
 * answers only get likelier as similarity falls, so that is pessimistic. The bound uses the number
 * of verified outcomes in [t, 1] as its sample size, and t is always the lower edge of a bin with
 * verified outcomes (never an unvisited stretch of similarity). Returns 1.01 (serve nothing) when no t qualifies.
 */
export function calibratedThreshold(c: CalibrationState, maxWrongRate: number, confidence: number): number {
  const z = normalQuantile(confidence);
  // rate[b]: the bin's own verified rate, else the nearest verified bin's below it, else unknown.
  const rate = new Array<number>(BINS).fill(Number.NaN);
  let below = Number.NaN;
  for (let b = 0; b < BINS; b++) {
    if (c.labelled[b]! > 0) below = c.wrong[b]! / c.labelled[b]!;
    rate[b] = below;
  }
  let traffic = 0;
  let wrongMass = 0;
  let labelled = 0;
  let best = 1.01;
  for (let b = BINS - 1; b >= 0; b--) {
    if (c.traffic[b]! > 0 && Number.isNaN(rate[b]!)) break; // traffic of unknown quality: no interval reaching down here can be bounded
    traffic += c.traffic[b]!;
    labelled += c.labelled[b]!;
    if (c.traffic[b]! > 0) wrongMass += c.traffic[b]! * rate[b]!;
    // Only a verified bin may be the boundary: a similarity no verified reuse has reached is unknown ground.
    if (c.labelled[b]! === 0) continue;
    if (wilsonUpper((wrongMass / traffic) * labelled, labelled, z) <= maxWrongRate) best = binLow(b);
  }
  return best;
}

export function recordTraffic(c: CalibrationState, similarity: number): void {
  const b = binOf(similarity);
  if (b >= 0) c.traffic[b]!++;
}

export function recordOutcome(c: CalibrationState, o: Outcome): void {
  const b = binOf(o.similarity);
  if (b < 0) return;
  c.labelled[b]!++;
  if (!o.ok) c.wrong[b]!++;
}

export type Decision =
  /** Serve the cached answer. */
  | { readonly kind: "serve"; readonly threshold: number }
  /** A would-be hit sent to the model to gather evidence; its answer is judged against the entry's. */
  | { readonly kind: "explore"; readonly threshold: number }
  /** Below the entry's boundary but close: answered by the model, then judged against the entry off the request path. */
  | { readonly kind: "near_miss"; readonly threshold: number; readonly why: "calibration" | "entry_veto" }
  /** Too far to be worth a verification. */
  | { readonly kind: "miss"; readonly threshold: number };

/** The per-entry part of the boundary: its own wrong outcomes veto, its own correct reuses below the threshold earn a little credit. */
export function entryBoundary(threshold: number, outcomes: readonly Outcome[]): { veto: number; threshold: number } {
  let veto = -1;
  for (const o of outcomes) if (!o.ok && o.similarity > veto) veto = o.similarity;
  const provenBelow = outcomes.filter((o) => o.ok && o.similarity < threshold && o.similarity > veto + VETO_MARGIN).length;
  const credit = Math.min(CREDIT_MAX, CREDIT_STEP * Math.max(0, provenBelow - 1));
  return { veto: veto < 0 ? -1 : veto + VETO_MARGIN, threshold: threshold - credit };
}

/**
 * The decision for the best candidate of a lookup. `threshold` is the calibrated one (see
 * `calibratedThreshold`); `explore` says whether the exploration budget grants this would-be hit.
 */
export function decide(similarity: number, outcomes: readonly Outcome[], threshold: number, params: DecisionParams, explore: () => boolean): Decision {
  if (similarity < params.floor) return { kind: "miss", threshold };
  const own = entryBoundary(threshold, outcomes);
  if (similarity <= own.veto) return { kind: "near_miss", threshold, why: "entry_veto" };
  if (similarity < own.threshold) return { kind: "near_miss", threshold, why: "calibration" };
  return explore() ? { kind: "explore", threshold } : { kind: "serve", threshold };
}

/**
 * The exploration budget: each would-be hit is explored with probability `rate`, and never more
 * than `rate` of the would-be hits so far (plus one, so the first may be) are explored.
 */
export class ExplorationBudget {
  private wouldBe = 0;
  private explored = 0;
  constructor(private readonly rate: number, private readonly random: () => number) {}

  take(): boolean {
    this.wouldBe++;
    if (this.rate <= 0 || this.explored + 1 > this.rate * this.wouldBe + 1 || this.random() >= this.rate) return false;
    this.explored++;
    return true;
  }

  get counts(): { wouldBe: number; explored: number } {
    return { wouldBe: this.wouldBe, explored: this.explored };
  }
}

/** Entry outcomes as stored next to the entry: "s:1;s:0;..." (similarity to 4 decimals, 1 = ok). */
export function formatOutcome(o: Outcome): string {
  return `${o.similarity.toFixed(4)}:${o.ok ? 1 : 0};`;
}

export function parseOutcomes(s: string | null): Outcome[] {
  if (!s) return [];
  const out: Outcome[] = [];
  for (const part of s.split(";")) {
    const [sim, ok] = part.split(":");
    const similarity = Number(sim);
    if (part && Number.isFinite(similarity) && (ok === "1" || ok === "0")) out.push({ similarity, ok: ok === "1" });
  }
  return out.slice(-MAX_ENTRY_OUTCOMES);
}
