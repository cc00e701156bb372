import type { RecordName } from "./types.ts";

export interface TopicSpec {
  /** The Kafka topic name. Nothing else in the repo types a topic string. */
  readonly name: string;
  /** Avro record of the value; null for raw-bytes topics (the dead-letter topic). */
  readonly record: RecordName | null;
  readonly partitions: number;
  /** The field the message key is taken from. */
  readonly key: string;
  readonly producedBy: readonly string[];
  readonly consumedBy: readonly string[];
  readonly doc: string;
}

/**
 * THE topic table. Infra creates these topics and registers their value schemas under
 * TopicNameStrategy subjects (`<topic>-value`); the runtime and every service read names from here.
 */
export const topics = {
  requests: {
    name: "llm.requests", record: "LlmRequest", partitions: 6, key: "request_id",
    producedBy: ["users"], consumedBy: ["executor"],
    doc: "The public input: one LlmRequest per logical request.",
  },
  responses: {
    name: "llm.responses", record: "LlmResponse", partitions: 6, key: "request_id",
    producedBy: ["executor"], consumedBy: ["sink", "users"],
    doc: "The public output: one LlmResponse per request, OK or ERROR.",
  },
  costRecords: {
    name: "llm.cost-records", record: "CostRecord", partitions: 6, key: "request_id",
    producedBy: ["executor"], consumedBy: ["sink"],
    doc: "One CostRecord per finished request, for ClickHouse.",
  },
  deadLetters: {
    name: "llm.dlq", record: null, partitions: 1, key: "request_id",
    producedBy: ["every service"], consumedBy: ["operators"],
    doc: "Poison input: the original bytes and headers plus dlq.* headers naming the reason, the service and the source offset.",
  },
} as const satisfies Record<string, TopicSpec>;

export type TopicKey = keyof typeof topics;
export type TopicName = (typeof topics)[TopicKey]["name"];
export const allTopics: readonly TopicSpec[] = Object.values(topics);

/** The schema-registry subject of a topic's value (TopicNameStrategy). */
export function valueSubject(topic: TopicSpec): string {
  return `${topic.name}-value`;
}

export function topicByName(name: string): TopicSpec | undefined {
  return allTopics.find((t) => t.name === name);
}
