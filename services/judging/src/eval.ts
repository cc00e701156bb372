import { readFileSync } from "node:fs";
import { seededRandom as rng, shuffle } from "@costwise/seeded";

export { rng, shuffle };

/*
 * Measuring a judge against recorded scores. Pure functions over parsed rows; the command
 * (tools/eval-judge.ts) reads the files, calls the judges and prints the summary.
 */

/** Which of the two recorded answers scored higher (the weak model's is the cheap answer). */
export type Outcome = "strong" | "weak" | "tie";
export const OUTCOMES: readonly Outcome[] = ["strong", "weak", "tie"];

/** One comparable pair: a router row with both models' recorded answers and scores. */
export interface JudgePair {
  readonly id: string;
  readonly file: string;
  readonly prompt: string;
  readonly strongModel: string;
  readonly weakModel: string;
  readonly strong: string;
  readonly weak: string;
  readonly truth: Outcome;
}

export class JudgeDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A `router_*` row → a pair, or the reason it cannot be one (no response text, no pair). Rows that
 * are not router rows at all throw, naming the file and line: a wrong file is an error, not a skip.
 */
export function pairOf(row: unknown, file: string, line: number): { pair: JudgePair } | { skip: string } {
  const at = `${file}:${line}`;
  if (!isObject(row) || typeof row.prompt !== "string" || !isObject(row.models)) {
    throw new JudgeDataError(`${at}: not a router row (needs "prompt" and "models"; see the router format in the data README)`);
  }
  const id = typeof row.id === "string" ? row.id : at;
  const strongModel = row.strong_model, weakModel = row.weak_model;
  if (typeof strongModel !== "string" || typeof weakModel !== "string") return { skip: "no strong/weak model pair" };
  const s = row.models[strongModel], w = row.models[weakModel];
  if (!isObject(s) || !isObject(w)) throw new JudgeDataError(`${at} (${id}): models lacks ${!isObject(s) ? strongModel : weakModel}`);
  if (typeof s.score !== "number" || typeof w.score !== "number") throw new JudgeDataError(`${at} (${id}): a model has no numeric score`);
  if (typeof s.response !== "string" || typeof w.response !== "string") return { skip: "no recorded response text" };
  const truth: Outcome = w.score > s.score ? "weak" : w.score < s.score ? "strong" : "tie";
  return { pair: { id, file, prompt: row.prompt, strongModel, weakModel, strong: s.response, weak: w.response, truth } };
}

/** z for a two-sided 95% interval. */
const Z95 = 1.959963984540054;

/** Wilson score interval of k successes in n (stays in [0, 1] at small n and extreme rates). */
export function wilson(k: number, n: number): [number, number] | null {
  if (n === 0) return null;
  const p = k / n, z2 = Z95 * Z95;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (Z95 / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

/**
 * Cohen's kappa of two labelings: agreement beyond what the two label distributions give by
 * chance. 0 for a constant judge (always tie), whatever its accuracy; null when chance agreement
 * is already 1 (both label everything the same way).
 */
export function cohensKappa<T>(a: readonly T[], b: readonly T[]): number | null {
  if (a.length !== b.length) throw new RangeError("kappa needs two labelings of the same items");
  const n = a.length;
  if (n === 0) return null;
  let same = 0;
  const ca = new Map<T, number>(), cb = new Map<T, number>();
  for (let i = 0; i < n; i++) {
    if (a[i] === b[i]) same++;
    ca.set(a[i]!, (ca.get(a[i]!) ?? 0) + 1);
    cb.set(b[i]!, (cb.get(b[i]!) ?? 0) + 1);
  }
  let pe = 0;
  for (const [k, x] of ca) pe += (x / n) * ((cb.get(k) ?? 0) / n);
  if (pe >= 1) return null;
  return (same / n - pe) / (1 - pe);
}

/** Area under the ROC curve of `score` for the positives (ties count half); null without both classes. */
export function auc(scores: readonly number[], positive: readonly boolean[]): number | null {
  const pos = scores.filter((_, i) => positive[i]), neg = scores.filter((_, i) => !positive[i]);
  if (pos.length === 0 || neg.length === 0) return null;
  // Rank-sum (Mann–Whitney U) with average ranks for ties.
  const all = scores.map((s, i) => ({ s, p: positive[i]! })).sort((x, y) => x.s - y.s);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]!.s === all[i]!.s) j++;
    const avg = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k]!.p) rankSum += avg;
    i = j;
  }
  return (rankSum - (pos.length * (pos.length + 1)) / 2) / (pos.length * neg.length);
}

/** The router's shadow decision: is the cheap (weak) answer at least as good? */
export const acceptable = (o: Outcome) => o !== "strong";

export interface Agreement {
  /** Share of pairs where the verdict equals the recorded outcome (strong / weak / tie). */
  readonly agreement: number | null;
  readonly ci95: [number, number] | null;
  readonly kappa: number | null;
  readonly n: number;
  /** The shadow decision (cheap answer acceptable or not) against the recorded scores. */
  readonly shadow: { readonly accuracy: number | null; readonly ci95: [number, number] | null; readonly kappa: number | null };
  /** Among pairs whose recorded scores differ: share where the verdict names the higher-scored model. */
  readonly decisive: { readonly accuracy: number | null; readonly ci95: [number, number] | null; readonly n: number };
}

/** Verdicts (null = undecided, left out and counted) against the truth of the same pairs. */
export function agreementOf(truth: readonly Outcome[], verdicts: readonly (Outcome | null)[]): Agreement & { undecided: number } {
  const t: Outcome[] = [], v: Outcome[] = [];
  truth.forEach((o, i) => {
    if (verdicts[i] != null) {
      t.push(o);
      v.push(verdicts[i]!);
    }
  });
  const n = t.length;
  const hits = t.filter((o, i) => o === v[i]).length;
  const ta = t.map(acceptable), va = v.map(acceptable);
  const shadowHits = ta.filter((x, i) => x === va[i]).length;
  const decisiveIdx = t.flatMap((o, i) => (o === "tie" ? [] : [i]));
  const decisiveHits = decisiveIdx.filter((i) => v[i] === t[i]).length;
  const share = (k: number, m: number) => (m ? k / m : null);
  return {
    agreement: share(hits, n), ci95: wilson(hits, n), kappa: cohensKappa(t, v), n,
    shadow: { accuracy: share(shadowHits, n), ci95: wilson(shadowHits, n), kappa: cohensKappa(ta, va) },
    decisive: { accuracy: share(decisiveHits, decisiveIdx.length), ci95: wilson(decisiveHits, decisiveIdx.length), n: decisiveIdx.length },
    undecided: truth.length - n,
  };
}

/** The baselines every judge is shown next to. */
export function baselineVerdicts(pairs: readonly JudgePair[], seed: number): Record<"always_tie" | "longer_wins" | "random", Outcome[]> {
  const random = rng(seed);
  return {
    always_tie: pairs.map(() => "tie"),
    longer_wins: pairs.map((p) => (p.weak.trim().length > p.strong.trim().length ? "weak" : p.weak.trim().length < p.strong.trim().length ? "strong" : "tie")),
    random: pairs.map(() => OUTCOMES[Math.floor(random() * 3)]!),
  };
}

/** The embedding judge as a preference: similar enough → tie (the shadow accepts), else the frontier (strong) answer is taken as better. */
export const embeddingVerdict = (similarity: number, threshold: number): Outcome => (similarity >= threshold ? "tie" : "strong");

/**
 * The similarity threshold at which the embedding judge calls as many cheap answers acceptable as
 * the recorded scores do: the threshold under which a route's measured agreement rate (what its
 * fallback floor is compared with) estimates its real acceptable-answer rate on this data.
 */
export function rateMatchedThreshold(similarities: readonly number[], truth: readonly Outcome[]): number {
  if (similarities.length === 0 || similarities.length !== truth.length) throw new RangeError("rateMatchedThreshold: one similarity per recorded outcome, at least one");
  const sorted = [...similarities].sort((a, b) => a - b);
  const rejected = truth.filter((t) => !acceptable(t)).length;
  return rejected === 0 ? sorted[0]! : sorted[Math.min(sorted.length - 1, rejected)]!;
}

export interface LoadedPairs {
  readonly pairs: JudgePair[];
  /** Rows that cannot be a pair, by reason. */
  readonly skipped: Record<string, number>;
  readonly files: { file: string; rows: number; pairs: number }[];
}

/** Read router jsonl files into pairs; `n` caps each file with a seeded sample. Errors name the file and line. */
export function readPairs(files: readonly string[], opts: { n?: number; seed: number }): LoadedPairs {
  const pairs: JudgePair[] = [];
  const skipped: Record<string, number> = {};
  const out: { file: string; rows: number; pairs: number }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new JudgeDataError(`cannot read ${file}: ${(err as Error).message}`);
    }
    const mine: JudgePair[] = [];
    let rows = 0;
    text.split("\n").forEach((line, i) => {
      if (!line.trim()) return;
      rows++;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch {
        throw new JudgeDataError(`${file}:${i + 1}: not JSON`);
      }
      const r = pairOf(row, file, i + 1);
      if ("pair" in r) mine.push(r.pair);
      else skipped[r.skip] = (skipped[r.skip] ?? 0) + 1;
    });
    if (rows === 0) throw new JudgeDataError(`${file}: no rows`);
    const sample = opts.n !== undefined && mine.length > opts.n ? shuffle(mine, rng(opts.seed)).slice(0, opts.n) : mine;
    out.push({ file, rows, pairs: sample.length });
    pairs.push(...sample);
  }
  return { pairs, skipped, files: out };
}
