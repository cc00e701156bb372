import { createClient } from "@clickhouse/client";
import { COMPATIBILITY, SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { allTopics, avroSchemas, valueSubject, type TopicSpec } from "@costwise/schemas";
import { boundedCall, withDeadline } from "@costwise/stream-runtime";
import { Kafka, logLevel } from "kafkajs";
import { migrate, type MigrateResult } from "../clickhouse/migrate.ts";
import type { StackConfig } from "../config.ts";
import { StackError } from "./errors.ts";

export interface TopicsResult {
  created: string[];
  existing: string[];
  /** Topics that had fewer partitions than their spec and were grown. */
  grown: string[];
}

/**
 * Create every topic with its explicit partition count (the broker refuses auto-creation).
 * An existing topic with fewer partitions is grown; one with more cannot be shrunk and fails.
 */
export async function provisionTopics(config: StackConfig, topics: readonly TopicSpec[] = allTopics): Promise<TopicsResult> {
  const admin = new Kafka({
    clientId: "costwise-provision", brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000, requestTimeout: 30_000, retry: { retries: 5 },
  }).admin();
  await withDeadline("kafka admin: connect", 60_000, () => admin.connect());
  try {
    const existingNames = new Set(await withDeadline("kafka admin: list topics", 60_000, () => admin.listTopics()));
    const result: TopicsResult = { created: [], existing: [], grown: [] };
    const toCreate = topics.filter((t) => !existingNames.has(t.name));
    if (toCreate.length > 0) {
      await withDeadline(`kafka admin: create ${toCreate.length} topic(s)`, 120_000, () =>
        admin.createTopics({
          waitForLeaders: true,
          topics: toCreate.map((t) => ({ topic: t.name, numPartitions: t.partitions, replicationFactor: 1 })),
        }),
      );
      result.created.push(...toCreate.map((t) => t.name));
    }
    const present = topics.filter((t) => existingNames.has(t.name));
    if (present.length > 0) {
      const { topics: meta } = await withDeadline("kafka admin: fetch topic metadata", 60_000, () => admin.fetchTopicMetadata({ topics: present.map((t) => t.name) }));
      for (const t of present) {
        const count = meta.find((m) => m.name === t.name)?.partitions.length ?? 0;
        if (count < t.partitions) {
          await withDeadline(`kafka admin: grow ${t.name}`, 60_000, () => admin.createPartitions({ topicPartitions: [{ topic: t.name, count: t.partitions }] }));
          result.grown.push(t.name);
        } else if (count > t.partitions) {
          throw new StackError(
            `topic ${t.name} has ${count} partitions but schemas/src/topics.ts says ${t.partitions}; ` +
              "Kafka cannot shrink a topic: delete it (or the broker's data dir) and run stack:up again",
          );
        } else {
          result.existing.push(t.name);
        }
      }
    }
    return result;
  } finally {
    await withDeadline("kafka admin: disconnect", 10_000, () => admin.disconnect()).catch(() => undefined);
  }
}

export interface RegisteredSubject {
  subject: string;
  id: number;
}

/** Each registration: 10 s per attempt, 4 attempts (the registry client has no deadline of its own). */
const REGISTRY_BUDGET = { timeoutMs: 10_000, retry: { attempts: 4, initialDelayMs: 500, maxDelayMs: 4_000, jitter: 0.25 } };

/** Register each topic's value schema under `<topic>-value` with BACKWARD compatibility. */
export async function registerSchemas(config: StackConfig, topics: readonly TopicSpec[] = allTopics): Promise<RegisteredSubject[]> {
  const registry = new SchemaRegistry({ host: config.schemaRegistry.url, retry: { retries: 0 } });
  const out: RegisteredSubject[] = [];
  for (const topic of topics) {
    if (topic.record === null) continue; // raw-bytes topics carry no schema
    const subject = valueSubject(topic);
    const schema = avroSchemas[topic.record] as object | undefined;
    if (!schema) throw new StackError(`topic ${topic.name} names record ${topic.record}, which has no Avro schema in @costwise/schemas`);
    const { id } = await boundedCall(`schema registry: register ${subject}`, REGISTRY_BUDGET, () =>
      registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject, compatibility: COMPATIBILITY.BACKWARD }),
    );
    out.push({ subject, id });
  }
  return out;
}

export async function applyMigrations(config: StackConfig): Promise<MigrateResult> {
  const client = createClient({
    url: config.clickhouse.url,
    username: config.clickhouse.username,
    password: config.clickhouse.password,
    request_timeout: 30_000,
  });
  try {
    return await migrate(client, { database: config.clickhouse.database, ...(config.clickhouse.cluster ? { cluster: config.clickhouse.cluster } : {}) });
  } finally {
    await client.close();
  }
}

export interface ProvisionResult {
  topics: TopicsResult;
  subjects: RegisteredSubject[];
  migrations: MigrateResult;
}

export async function provision(config: StackConfig): Promise<ProvisionResult> {
  const [topics, subjects, migrations] = await Promise.all([
    provisionTopics(config),
    registerSchemas(config),
    applyMigrations(config),
  ]);
  return { topics, subjects, migrations };
}
