import { newRequest, type LlmRequest } from "@costwise/schemas";

/** What the batch keeps per request once the Kafka offset is committed: enough to answer it or send it on. */
export interface StoredRequest {
  readonly request: LlmRequest;
  /** When the accumulator accepted it (epoch ms). */
  readonly acceptedAt: number;
  readonly attempt: number;
  /** Where it was read from, for dead-letter headers. */
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: number };
}

/**
 * JSON rather than Avro: a batch can outlive a schema change (24 h window) and JSON needs no
 * writer schema to be read back; fields added later get their defaults from `newRequest`.
 */
export function encodeStored(s: StoredRequest): string {
  return JSON.stringify({ v: 1, a: s.acceptedAt, n: s.attempt, s: [s.source.topic, s.source.partition, s.source.offset], r: s.request });
}

export function decodeStored(text: string): StoredRequest {
  const o = JSON.parse(text) as { v: number; a: number; n: number; s: [string, number, number]; r: LlmRequest };
  return { request: newRequest(o.r), acceptedAt: o.a, attempt: o.n, source: { topic: o.s[0], partition: o.s[1], offset: o.s[2] } };
}
