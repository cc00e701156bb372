import type { LlmOutcome } from "@costwise/schemas";

/**
 * The precedence of outcome sources: a user's verdict beats an automated task check's, which
 * beats a judge model's; any other named source ranks below a judge. The sink stores the rank
 * next to each outcome (llm_outcomes.source_rank), so the SQL views and this module apply the
 * same rule.
 */
export const SOURCE_RANK = { user: 3, task: 2, judge: 1 } as const;
export const OTHER_SOURCE_RANK = 0;

/** `user`, `task`, `judge` and `judge:<name>` (costwise's own judges mark which one). */
export function sourceRank(source: string): number {
  const s = normaliseSource(source);
  if (s === "user") return SOURCE_RANK.user;
  if (s === "task" || s.startsWith("task:")) return SOURCE_RANK.task;
  if (s === "judge" || s.startsWith("judge:")) return SOURCE_RANK.judge;
  return OTHER_SOURCE_RANK;
}

export const normaliseSource = (source: string): string => source.trim().toLowerCase();

/** A score at or above this counts as a success when only a score is given. */
export const SCORE_SUCCESS_THRESHOLD = 0.5;

export class InvalidOutcomeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The reason an outcome cannot be used, or null. The Avro schema already guarantees the types;
 * this checks what it cannot: a verdict present, a score in [0, 1], and the identifying fields.
 */
export function outcomeProblem(o: LlmOutcome): string | null {
  if (!o.request_id.trim()) return "outcome without request_id";
  if (!o.tenant.trim()) return "outcome without tenant";
  if (!o.use_case.trim()) return "outcome without use_case";
  if (!normaliseSource(o.source)) return "outcome without source";
  if (o.success === null && o.score === null) return "outcome has neither success nor score";
  if (o.score !== null && !(Number.isFinite(o.score) && o.score >= 0 && o.score <= 1)) return `outcome score ${o.score} is outside [0, 1]`;
  if (!Number.isFinite(o.created_at) || o.created_at <= 0) return `outcome created_at ${o.created_at} is not a time`;
  return null;
}

export function assertOutcome(o: LlmOutcome): LlmOutcome {
  const problem = outcomeProblem(o);
  if (problem) throw new InvalidOutcomeError(problem);
  return o;
}

/** Did the answer succeed: `success` when given, else score ≥ 0.5. */
export function succeeded(o: Pick<LlmOutcome, "success" | "score">): boolean {
  if (o.success !== null) return o.success;
  return (o.score ?? 0) >= SCORE_SUCCESS_THRESHOLD;
}

/**
 * The outcome that counts for one request among all received for it (late, repeated and
 * contradictory ones included): the latest per source, then the highest-ranked source; among
 * equals, the later one. `received` orders outcomes with the same created_at (the later
 * delivery wins), as the version column does in ClickHouse.
 */
export function effectiveOutcome<T extends LlmOutcome>(outcomes: readonly T[], received: (o: T) => number = () => 0): T | null {
  const better = (a: T, b: T) => {
    const ra = sourceRank(a.source);
    const rb = sourceRank(b.source);
    if (ra !== rb) return ra > rb;
    if (a.created_at !== b.created_at) return a.created_at > b.created_at;
    return received(a) >= received(b);
  };
  let best: T | null = null;
  for (const o of outcomes) if (best === null || better(o, best)) best = o;
  return best;
}
