import type { TopicSpec } from "@costwise/schemas";
import type { ProducedRecord } from "./transport.ts";
import type { RawMessage } from "./types.ts";

export interface DeadLetterInfo {
  readonly reason: string;
  readonly service: string;
  readonly sourceTopic: string;
  readonly partition: number;
  readonly errorClass?: string;
  readonly now: number;
}

/** Header names on dead-letter records; operators and tests read them. */
export const DLQ_HEADERS = {
  reason: "dlq.reason",
  errorClass: "dlq.error_class",
  service: "dlq.service",
  topic: "dlq.source_topic",
  partition: "dlq.source_partition",
  offset: "dlq.source_offset",
  at: "dlq.at",
} as const;

/** The original key, bytes and headers, untouched, plus why and where from. */
export function deadLetterRecord(dlq: TopicSpec, msg: RawMessage, info: DeadLetterInfo): ProducedRecord {
  const headers: Record<string, string | Buffer> = {};
  for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k] = v;
  headers[DLQ_HEADERS.reason] = info.reason;
  headers[DLQ_HEADERS.errorClass] = info.errorClass ?? "Rejected";
  headers[DLQ_HEADERS.service] = info.service;
  headers[DLQ_HEADERS.topic] = info.sourceTopic;
  headers[DLQ_HEADERS.partition] = String(info.partition);
  headers[DLQ_HEADERS.offset] = msg.offset;
  headers[DLQ_HEADERS.at] = String(info.now);
  return { topic: dlq.name, key: msg.key?.toString("utf8") ?? null, value: msg.value ?? Buffer.alloc(0), headers };
}
