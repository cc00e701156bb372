/**
 * A warm start for the calibration: evidence from labelled queries instead of live traffic, so a
 * fresh deployment can serve from its first requests. The labelled queries are streamed through
 * what the cache would do (nearest earlier query of the same use case, the salient-detail guard,
 * exact repeats left to the exact path, the kind of neighbourhood from the two nearest), and every
 * would-be reuse becomes one verified outcome:
 * interchangeable when both queries carry the same answer label and neither is out of scope. That
 * is the evidence live near misses and explorations produce, so it lands in the same bins; it is
 * noted on the calibration as seeded (file, hash, pairs, embedding cost), and live evidence keeps
 * adding to it and, past the calibration's bound, outweighs it.
 */
import { ScopedAnnIndex } from "./ann.ts";
import { binOf, BIN_LOW, emptyCalibration, type CalibrationState } from "./decision.ts";
import { compareSalient, type SalientDetails, type SalientKind } from "./guard.ts";
import type { Neighbourhood } from "./store.ts";

export interface LabelledQuery {
  /** The query as the cache sees it (normalised). */
  readonly query: string;
  readonly vector: Float32Array;
  /** Queries with equal labels share an answer; null: out of scope, no other answer serves it. */
  readonly label: string | null;
}

export interface SeededEvidence {
  /** Per kind of neighbourhood, as the engine calibrates (see Neighbourhood). */
  readonly evidence: Record<Neighbourhood, CalibrationState>;
  /** Would-be reuses recorded (each one traffic and one verified outcome). */
  readonly pairs: number;
  readonly wrong: number;
  /** Queries that repeated an earlier one exactly (an exact hit, no semantic evidence). */
  readonly exact: number;
}

export function seedEvidence(
  queries: readonly LabelledQuery[],
  opts: { readonly guard: readonly SalientKind[]; readonly salient: (text: string) => SalientDetails; readonly candidates: number; readonly maxPairs?: number },
): SeededEvidence {
  const dims = queries[0]?.vector.length ?? 0;
  const index = new ScopedAnnIndex({ dimensions: dims });
  const evidence: Record<Neighbourhood, CalibrationState> = { agree: emptyCalibration(), differ: emptyCalibration(), single: emptyCalibration() };
  const seen = new Map<string, number>();
  let pairs = 0;
  let wrong = 0;
  let exact = 0;
  for (const [i, q] of queries.entries()) {
    if (opts.maxPairs !== undefined && pairs >= opts.maxPairs) break;
    if (seen.has(q.query)) {
      exact++;
      continue;
    }
    const mine = opts.salient(q.query);
    // The two nearest earlier queries the guard lets through, as the engine picks them.
    const usable: { similarity: number; other: LabelledQuery }[] = [];
    for (const n of index.search("seed", q.vector, opts.candidates, 0)) {
      if (n.similarity < BIN_LOW) break;
      const other = queries[seen.get(n.entry.ref)!]!;
      if (!compareSalient(mine, opts.salient(other.query), opts.guard).ok) continue;
      usable.push({ similarity: n.similarity, other });
      if (usable.length === 2) break;
    }
    const [best, next] = usable;
    if (best) {
      // The labels judge the two neighbours' answers, as the verifier would judge the entries'.
      const kind: Neighbourhood = next === undefined ? "single" : best.other.label !== null && best.other.label === next.other.label ? "agree" : "differ";
      const e = evidence[kind];
      const b = binOf(best.similarity);
      e.traffic[b]!++;
      e.labelled[b]!++;
      pairs++;
      if (q.label === null || q.label !== best.other.label) {
        e.wrong[b]!++;
        wrong++;
      }
    }
    seen.set(q.query, i);
    index.add("seed", { ref: q.query, tenant: "", useCase: "", expiresAt: Number.POSITIVE_INFINITY }, q.vector);
  }
  return { evidence, pairs, wrong, exact };
}
