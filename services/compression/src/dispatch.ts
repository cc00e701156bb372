import { topics, type LlmRequest } from "@costwise/schemas";

/**
 * Where a compressed request goes next. Owned with the batch engineer: refine the rule here and
 * keep dispatch.test.ts as the contract.
 */
export interface DispatchPolicy {
  /** A BATCH request goes to a provider batch only if its deadline is at least this far away. */
  readonly minBatchDeadlineMs: number;
}

export const DEFAULT_DISPATCH_POLICY: DispatchPolicy = { minBatchDeadlineMs: 3_600_000 };

export type DispatchTopic = typeof topics.ready | typeof topics.batch;

/**
 * `latency_class` BATCH with no deadline, or a deadline (epoch ms) at least `minBatchDeadlineMs`
 * after `now`, goes to `topics.batch`; everything else to `topics.ready` (real time), including a
 * BATCH request whose deadline is too close for a batch to meet.
 */
export function dispatchTopic(req: Pick<LlmRequest, "latency_class" | "deadline_ms">, policy: DispatchPolicy, now: number): DispatchTopic {
  if (req.latency_class !== "BATCH") return topics.ready;
  if (req.deadline_ms === null || req.deadline_ms - now >= policy.minBatchDeadlineMs) return topics.batch;
  return topics.ready;
}
