import type { TopicSpec } from "@costwise/schemas";

/** One record to produce. The key defaults to the record's key field (request_id). */
export interface Output {
  readonly topic: TopicSpec;
  readonly value: object;
  readonly key?: string;
  readonly headers?: Record<string, string>;
}

/**
 * What processing one input decided, as plain data. The runtime carries it out:
 * outputs are produced (and acknowledged) before the input's offset is committed, and a
 * dead-letter reason also sends the original bytes to the dead-letter topic.
 */
export interface Outcome {
  readonly outputs: readonly Output[];
  readonly deadLetter?: string;
  /** Why nothing was produced, for logs and metrics. */
  readonly skipped?: string;
  /**
   * The service keeps the input beyond this call (an open accumulation): its offset may only be
   * committed once the service's commit watermark has passed it. Needs `commitWatermark`.
   */
  readonly held?: string;
}

export function emit(...outputs: Output[]): Outcome {
  return { outputs };
}

export function skip(reason: string): Outcome {
  return { outputs: [], skipped: reason };
}

/** Keep the input (see `Outcome.held`); the service reports when it is safe through its commit watermark. */
export function hold(reason: string): Outcome {
  return { outputs: [], held: reason };
}

/** Reject the input: dead-letter its original bytes with `reason`, and still produce `outputs` (e.g. an ERROR response). */
export function deadLetter(reason: string, ...outputs: Output[]): Outcome {
  return { outputs, deadLetter: reason };
}

export function output(topic: TopicSpec, value: object, key?: string): Output {
  return key === undefined ? { topic, value } : { topic, value, key };
}
