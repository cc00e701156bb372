/**
 * Deadline rules of the batch path. A request may wait for a batch only if the batch can come back
 * before its deadline: the provider's turnaround (24 h completion window by default) must fit.
 */
export interface DeadlinePolicy {
  /** Time budgeted from submitting a batch to having its results. */
  readonly turnaroundMs: number;
  /** Time the real-time path needs to answer a request that falls back to it. */
  readonly realtimeBudgetMs: number;
  /** Batches a request may go through before it falls back to real time. */
  readonly maxBatchAttempts: number;
}

export function batchable(deadline: number | null, now: number, p: DeadlinePolicy): boolean {
  return deadline === null || deadline - now >= p.turnaroundMs;
}

/** The latest moment a batch holding this deadline may be submitted; null: no deadline. */
export function submitBy(deadline: number | null, p: DeadlinePolicy): number | null {
  return deadline === null ? null : deadline - p.turnaroundMs;
}

/** A batch still running this close to its earliest deadline is cancelled so its requests can go real time. */
export function mustAbandon(earliestDeadline: number | null, now: number, p: DeadlinePolicy): boolean {
  return earliestDeadline !== null && now >= earliestDeadline - p.realtimeBudgetMs;
}

export type Disposition = "batch" | "realtime" | "error";

/**
 * What to do with a request its batch did not answer: another batch when the deadline leaves room
 * for one (and attempts remain), else real time when there is time for that, else an ERROR response.
 * Failures that no retry can fix (the provider rejected the request itself) are final.
 */
export function afterFailure(
  f: { retryable: boolean; allowBatch: boolean; deadline: number | null; attempt: number; now: number },
  p: DeadlinePolicy,
): Disposition {
  if (!f.retryable) return "error";
  if (f.allowBatch && f.attempt < p.maxBatchAttempts && batchable(f.deadline, f.now, p)) return "batch";
  if (f.deadline === null || f.deadline - f.now >= p.realtimeBudgetMs) return "realtime";
  return "error";
}
