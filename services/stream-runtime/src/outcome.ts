import type { RecordName, RecordTypes, TopicKey, topics, TopicSpec } from "@costwise/schemas";

/** The TypeScript record type of a topic's values (never for the raw-bytes dead-letter topic). */
export type RecordOf<T extends TopicSpec> = T extends { readonly record: infer R } ? (R extends RecordName ? RecordTypes[R] : never) : never;

/** A topic of the topic table. */
export type TableTopic = (typeof topics)[TopicKey];

/** One record for one topic. The key defaults to the record's key field (request_id). */
export interface TopicOutput<T extends TopicSpec> {
  readonly topic: T;
  readonly value: RecordOf<T>;
  readonly key?: string;
  readonly headers?: Record<string, string>;
}

/**
 * One record to produce, for any topic of the table. A union over the topics, so a value that is
 * not the topic's record type does not compile (and cannot dead-letter its input at run time).
 */
export type Output = { [K in TopicKey]: TopicOutput<(typeof topics)[K]> }[TopicKey];

/** The Output of each topic in T (distributes over a union of topics). */
export type OutputTo<T extends TableTopic> = T extends TableTopic ? TopicOutput<T> : never;

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

/** A record for `topic`; `value` must be the topic's record type (checked at compile time). */
export function output<T extends TableTopic>(topic: T, value: RecordOf<T>, key?: string): OutputTo<T> {
  return (key === undefined ? { topic, value } : { topic, value, key }) as OutputTo<T>;
}
