/**
 * Batch lifecycles as pure functions of time. A batch records when it was created, the
 * phase durations in force at that moment and the moment a cancel was requested; its
 * status, timestamps and progress at any instant follow from those alone.
 */
export interface BatchTimeline {
  createdAt: number;
  validatingMs: number;
  inProgressMs: number;
  finalizingMs: number;
  /** Number of requests in the batch (0 when the input failed validation). */
  total: number;
  /** The input file was rejected during validation (OpenAI only). */
  validationFailed: boolean;
  /** The batch runs out of its completion window: half of the requests finish, the rest expire. */
  expire: boolean;
  cancelRequestedAt: number | null;
}

function processingStart(t: BatchTimeline): number {
  return t.createdAt + t.validatingMs;
}

function processingEnd(t: BatchTimeline): number {
  return processingStart(t) + t.inProgressMs;
}

/** How many requests an expiring batch gets through before its window closes. */
export function expiringBatchCapacity(total: number): number {
  return Math.floor(total / 2);
}

/** Requests finished by `time`, ignoring cancellation: they complete at an even pace. */
export function processedBy(t: BatchTimeline, time: number): number {
  const capacity = t.expire ? expiringBatchCapacity(t.total) : t.total;
  const start = processingStart(t);
  if (time < start) return 0;
  if (t.inProgressMs === 0 || time >= processingEnd(t)) return capacity;
  return Math.min(capacity, Math.floor((capacity * (time - start)) / t.inProgressMs));
}

export type OpenAiBatchStatus = "validating" | "failed" | "in_progress" | "finalizing" | "completed" | "expired" | "cancelling" | "cancelled";

export interface OpenAiBatchPhase {
  status: OpenAiBatchStatus;
  /** Requests whose result is known. */
  processed: number;
  terminal: boolean;
  inProgressAt: number | null;
  finalizingAt: number | null;
  completedAt: number | null;
  failedAt: number | null;
  expiredAt: number | null;
  cancellingAt: number | null;
  cancelledAt: number | null;
}

const NO_TIMES = {
  inProgressAt: null,
  finalizingAt: null,
  completedAt: null,
  failedAt: null,
  expiredAt: null,
  cancellingAt: null,
  cancelledAt: null,
} as const;

/** OpenAI: validating → in_progress → finalizing → completed | failed | expired, or → cancelling → cancelled. */
export function openAiBatchPhase(t: BatchTimeline, now: number): OpenAiBatchPhase {
  const start = processingStart(t);
  const end = processingEnd(t);
  const cancelAt = t.cancelRequestedAt;
  const inProgressAt = (cancelAt === null || cancelAt >= start) && !t.validationFailed && now >= start ? start : null;

  if (cancelAt !== null && now >= cancelAt) {
    const cancelledAt = cancelAt + t.finalizingMs;
    return {
      ...NO_TIMES,
      status: now >= cancelledAt ? "cancelled" : "cancelling",
      processed: processedBy(t, cancelAt),
      terminal: now >= cancelledAt,
      inProgressAt,
      cancellingAt: cancelAt,
      cancelledAt: now >= cancelledAt ? cancelledAt : null,
    };
  }
  if (now < start) return { ...NO_TIMES, status: "validating", processed: 0, terminal: false };
  if (t.validationFailed) return { ...NO_TIMES, status: "failed", processed: 0, terminal: true, failedAt: start };
  if (now < end) return { ...NO_TIMES, status: "in_progress", processed: processedBy(t, now), terminal: false, inProgressAt };
  if (t.expire) {
    return { ...NO_TIMES, status: "expired", processed: processedBy(t, end), terminal: true, inProgressAt, expiredAt: end };
  }
  const completedAt = end + t.finalizingMs;
  if (now < completedAt) return { ...NO_TIMES, status: "finalizing", processed: t.total, terminal: false, inProgressAt, finalizingAt: end };
  return { ...NO_TIMES, status: "completed", processed: t.total, terminal: true, inProgressAt, finalizingAt: end, completedAt };
}

/** Whether a cancel request at `now` is accepted (OpenAI cancels only unfinished batches). */
export function openAiBatchCancellable(t: BatchTimeline, now: number): boolean {
  const status = openAiBatchPhase(t, now).status;
  return status === "validating" || status === "in_progress" || status === "finalizing";
}

export type AnthropicProcessingStatus = "in_progress" | "canceling" | "ended";

export interface AnthropicBatchPhase {
  status: AnthropicProcessingStatus;
  processed: number;
  /** Why the unprocessed remainder did not run once ended. */
  remainder: "none" | "canceled" | "expired";
  endedAt: number | null;
  cancelInitiatedAt: number | null;
}

/** Anthropic: in_progress → ended, or in_progress → canceling → ended. */
export function anthropicBatchPhase(t: BatchTimeline, now: number): AnthropicBatchPhase {
  const cancelAt = t.cancelRequestedAt;
  if (cancelAt !== null && now >= cancelAt) {
    const endedAt = cancelAt + t.finalizingMs;
    const ended = now >= endedAt;
    return {
      status: ended ? "ended" : "canceling",
      processed: processedBy(t, cancelAt),
      remainder: "canceled",
      endedAt: ended ? endedAt : null,
      cancelInitiatedAt: cancelAt,
    };
  }
  const end = processingEnd(t);
  if (t.expire && now >= end) {
    return { status: "ended", processed: processedBy(t, end), remainder: "expired", endedAt: end, cancelInitiatedAt: null };
  }
  const endedAt = end + t.finalizingMs;
  if (now >= endedAt) return { status: "ended", processed: t.total, remainder: "none", endedAt, cancelInitiatedAt: null };
  return { status: "in_progress", processed: processedBy(t, now), remainder: "none", endedAt: null, cancelInitiatedAt: null };
}
