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

/** Characters a topic namespace may use (Kafka's topic-name alphabet). */
const NAMESPACE = /^[A-Za-z0-9._-]{0,100}$/;

/**
 * The prefix of every topic name: COSTWISE_TOPIC_NAMESPACE, empty by default. Separate namespaces
 * are separate pipelines on one Kafka cluster (a replay measured while other pipelines run on the
 * shared topics). Read when a name is used, so a process may set it before it provisions and
 * starts services; every process of one pipeline must see the same value.
 */
export function topicNamespace(env: NodeJS.ProcessEnv = process.env): string {
  const ns = env.COSTWISE_TOPIC_NAMESPACE ?? "";
  if (!NAMESPACE.test(ns)) throw new RangeError(`COSTWISE_TOPIC_NAMESPACE ${JSON.stringify(ns)}: up to 100 of A-Z a-z 0-9 . _ -`);
  return ns;
}

const named = (base: string): string => topicNamespace() + base;

/**
 * THE topic table. Infra creates these topics and registers their value schemas under
 * TopicNameStrategy subjects (`<topic>-value`); the runtime and every service read names from here.
 */
export const topics = {
  requests: {
    get name() { return named("llm.requests"); }, record: "LlmRequest", partitions: 6, key: "request_id",
    producedBy: ["users", "gateway"], consumedBy: ["cache"],
    doc: "The public input: one LlmRequest per logical request.",
  },
  uncached: {
    get name() { return named("llm.requests.uncached"); }, record: "LlmRequest", partitions: 6, key: "request_id",
    producedBy: ["cache"], consumedBy: ["router"],
    doc: "Cache misses (and bypasses), annotated with the lookup's cost, on their way to the router.",
  },
  routed: {
    get name() { return named("llm.requests.routed"); }, record: "LlmRequest", partitions: 6, key: "request_id",
    producedBy: ["router"], consumedBy: ["compression"],
    doc: "Requests with their route decision (tier, model, strategy, score).",
  },
  ready: {
    get name() { return named("llm.requests.ready"); }, record: "LlmRequest", partitions: 6, key: "request_id",
    producedBy: ["compression"], consumedBy: ["executor"],
    doc: "Requests ready for a real-time provider call: routed, context compressed.",
  },
  batch: {
    get name() { return named("llm.requests.batch"); }, record: "LlmRequest", partitions: 6, key: "request_id",
    producedBy: ["compression"], consumedBy: ["batch-accumulator"],
    doc: "Requests that can wait for a provider batch (latency class BATCH with a deadline a batch can meet).",
  },
  responses: {
    get name() { return named("llm.responses"); }, record: "LlmResponse", partitions: 6, key: "request_id",
    producedBy: ["cache", "executor", "batch-accumulator"], consumedBy: ["sink", "cache", "users", "gateway"],
    doc: "The public output: one LlmResponse per request, OK or ERROR.",
  },
  costRecords: {
    get name() { return named("llm.cost-records"); }, record: "CostRecord", partitions: 6, key: "request_id",
    producedBy: ["cache", "executor", "batch-accumulator"], consumedBy: ["sink"],
    doc: "One CostRecord per finished request, for ClickHouse.",
  },
  alerts: {
    get name() { return named("llm.budget-alerts"); }, record: "BudgetAlert", partitions: 1, key: "alert_id",
    producedBy: ["alerts"], consumedBy: ["operators"],
    doc: "A tenant's or use case's projected monthly spend crossed a threshold of its budget (services/analytics).",
  },
  distillSamples: {
    get name() { return named("llm.distill-samples"); }, record: "DistillSample", partitions: 3, key: "request_id",
    producedBy: ["distiller"], consumedBy: ["sink"],
    doc: "Frontier answers captured for distillation with their rendered prompt, PII redacted (services/distiller).",
  },
  cacheVerifications: {
    get name() { return named("llm.cache.verifications"); }, record: "CacheVerification", partitions: 3, key: "request_id",
    producedBy: ["cache"], consumedBy: ["cache"],
    doc: "Near misses and explorations of the semantic cache, answered by the model, judged against their cached neighbour off the request path.",
  },
  outcomes: {
    get name() { return named("llm.outcomes"); }, record: "LlmOutcome", partitions: 3, key: "request_id",
    producedBy: ["users", "judges"], consumedBy: ["sink", "cache", "router"],
    doc: "Whether an answer helped (success and/or a 0-1 score, with its source): the input of cost per successful outcome and of quality regression detection.",
  },
  deadLetters: {
    get name() { return named("llm.dlq"); }, record: null, partitions: 1, key: "request_id",
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
