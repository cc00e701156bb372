import type { TopicSpec } from "@costwise/schemas";
import { Partitioners, type Consumer, type Kafka, type Producer } from "kafkajs";
import { createKafka } from "../kafka-transport.ts";
import { silentLogger, type Logger } from "../logger.ts";
import { AvroSerde, confluentRegistry } from "../serde.ts";

export interface KafkaEndpoints {
  readonly KAFKA_BROKERS: string;
  readonly SCHEMA_REGISTRY_URL: string;
}

/** A consumed record as a test sees it. */
export interface Received<T> {
  readonly value: T;
  readonly key: string | null;
  readonly headers: Record<string, string>;
  readonly partition: number;
  readonly receivedAt: number;
}

export interface ProduceOptions {
  /** Defaults to the value's key field (request_id). */
  readonly key?: (value: object) => string;
  readonly headers?: Record<string, string>;
  /** Pin every record to one partition (keeps their order). */
  readonly partition?: number;
  /** Records per send. */
  readonly chunk?: number;
}

export interface SubscribeOptions {
  /** From the start of the topic instead of from the moment the consumer joined. */
  readonly fromBeginning?: boolean;
  /** Hand over the bytes undecoded (always so for the raw-bytes dead-letter topic). */
  readonly raw?: boolean;
  /** The consumer group; a fresh one by default. */
  readonly groupId?: string;
}

/**
 * The one Kafka client of tests, harnesses, the demo and the benchmark: Avro through the schema
 * registry like the services, an idempotent producer that awaits every replica, and consumers with
 * fresh groups that resolve once they joined (so nothing produced afterwards is missed).
 */
export class KafkaTestClient {
  private readonly consumers: Consumer[] = [];
  private producer: Producer | null = null;

  private constructor(
    readonly kafka: Kafka,
    readonly serde: AvroSerde,
    private readonly clientId: string,
  ) {}

  static connect(env: KafkaEndpoints, opts: { clientId?: string; logger?: Logger } = {}): KafkaTestClient {
    const clientId = opts.clientId ?? "costwise-test-client";
    const kafka = createKafka({ brokers: env.KAFKA_BROKERS.split(","), clientId, logger: opts.logger ?? silentLogger });
    return new KafkaTestClient(kafka, new AvroSerde(confluentRegistry(env.SCHEMA_REGISTRY_URL)), clientId);
  }

  private async producerOf(): Promise<Producer> {
    if (!this.producer) {
      const p = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await p.connect();
      this.producer = p;
    }
    return this.producer;
  }

  /** Produce Avro records to `topic`, awaiting acks from every in-sync replica. */
  async produce<T extends object>(topic: TopicSpec, values: readonly T[], opts: ProduceOptions = {}): Promise<void> {
    await this.serde.init([topic]);
    const producer = await this.producerOf();
    const keyOf = opts.key ?? ((v: object) => String((v as Record<string, unknown>)[topic.key] ?? ""));
    const chunk = opts.chunk ?? 500;
    for (let i = 0; i < values.length; i += chunk) {
      await producer.send({
        topic: topic.name,
        acks: -1,
        messages: values.slice(i, i + chunk).map((v) => ({
          key: keyOf(v), value: this.serde.encode(topic, v),
          ...(opts.headers ? { headers: opts.headers } : {}), ...(opts.partition !== undefined ? { partition: opts.partition } : {}),
        })),
      });
    }
  }

  /** Produce bytes as they are (poison-message tests). */
  async produceRaw(topic: TopicSpec, key: string, value: Buffer): Promise<void> {
    await (await this.producerOf()).send({ topic: topic.name, acks: -1, messages: [{ key, value }] });
  }

  /** Call `onRecord` for every record of `topic`; resolves once the consumer has joined its group. */
  async subscribe<T>(topic: TopicSpec, onRecord: (r: Received<T>) => void | Promise<void>, opts: SubscribeOptions = {}): Promise<void> {
    const raw = opts.raw || !topic.record;
    if (!raw) await this.serde.init([topic]);
    const groupId = opts.groupId ?? `${this.clientId}-${topic.name}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 50 });
    this.consumers.push(consumer);
    await consumer.connect();
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.subscribe({ topics: [topic.name], fromBeginning: opts.fromBeginning ?? false });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
        const value = raw ? (message.value as unknown as T) : await this.serde.decode<T>(topic, message.value!);
        await onRecord({ value, key: message.key?.toString() ?? null, headers, partition, receivedAt: Date.now() });
      },
    });
    await joined;
  }

  /** Set a consumer group's committed offsets to the end of `topic`: a service started with it reads only what comes next. */
  async startGroupAtEnd(groupId: string, topic: TopicSpec): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic.name);
      await admin.setOffsets({ groupId, topic: topic.name, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    for (const c of this.consumers.splice(0)) await c.disconnect().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = null;
  }
}
