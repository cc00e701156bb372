import type { TopicSpec } from "@costwise/schemas";
import { Partitioners, type Consumer, type Kafka, type Producer } from "kafkajs";
import type { BaseConfig } from "../config.ts";
import { createKafka } from "../kafka-transport.ts";
import { silentLogger, type Logger } from "../logger.ts";
import { AvroSerde, confluentRegistry } from "../serde.ts";
import type { ConsumerPort, ProducerPort } from "../transport.ts";

/** The client library, as the services' KAFKA_CLIENT names it. */
export type KafkaLibrary = BaseConfig["KAFKA_CLIENT"];

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
  private readonly ports: ConsumerPort[] = [];
  private port: Promise<ProducerPort> | null = null;

  private constructor(
    readonly kafka: Kafka,
    readonly serde: AvroSerde,
    private readonly clientId: string,
    private readonly brokers: readonly string[],
    private readonly logger: Logger,
    /**
     * With "platformatic", produce (unless pinned to a partition) and subscribe go through the
     * runtime's @platformatic/kafka ports, so a measurement from outside pays the same client
     * costs as the services it measures; admin calls stay on kafkajs.
     */
    readonly library: KafkaLibrary,
  ) {}

  static connect(env: KafkaEndpoints, opts: { clientId?: string; logger?: Logger; library?: KafkaLibrary } = {}): KafkaTestClient {
    const clientId = opts.clientId ?? "costwise-test-client";
    const brokers = env.KAFKA_BROKERS.split(",");
    const logger = opts.logger ?? silentLogger;
    const kafka = createKafka({ brokers, clientId, logger });
    return new KafkaTestClient(kafka, new AvroSerde(confluentRegistry(env.SCHEMA_REGISTRY_URL)), clientId, brokers, logger, opts.library ?? "kafkajs");
  }

  private portOf(): Promise<ProducerPort> {
    this.port ??= import("../platformatic-transport.ts").then(({ platformaticProducer }) => platformaticProducer({ brokers: this.brokers, clientId: this.clientId }));
    return this.port;
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
    const keyOf = opts.key ?? ((v: object) => String((v as Record<string, unknown>)[topic.key] ?? ""));
    const chunk = opts.chunk ?? 500;
    if (this.library === "platformatic" && opts.partition === undefined) {
      const port = await this.portOf();
      for (let i = 0; i < values.length; i += chunk) {
        await port.send(values.slice(i, i + chunk).map((v) => ({ topic: topic.name, key: keyOf(v), value: this.serde.encode(topic, v), ...(opts.headers ? { headers: opts.headers } : {}) })));
      }
      return;
    }
    const producer = await this.producerOf();
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
    if (this.library === "platformatic") return (await this.portOf()).send([{ topic: topic.name, key, value }]);
    await (await this.producerOf()).send({ topic: topic.name, acks: -1, messages: [{ key, value }] });
  }

  /** Call `onRecord` for every record of `topic`; resolves once the consumer has joined its group. */
  async subscribe<T>(topic: TopicSpec, onRecord: (r: Received<T>) => void | Promise<void>, opts: SubscribeOptions = {}): Promise<void> {
    const raw = opts.raw || !topic.record;
    if (!raw) await this.serde.init([topic]);
    const groupId = opts.groupId ?? `${this.clientId}-${topic.name}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const decode = async (message: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | string | undefined> }, partition: number) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
      const value = raw ? (message.value as unknown as T) : await this.serde.decode<T>(topic, message.value!);
      await onRecord({ value, key: message.key?.toString() ?? null, headers, partition, receivedAt: Date.now() });
    };
    if (this.library === "platformatic") {
      const { platformaticConsumer } = await import("../platformatic-consumer.ts");
      const port = await platformaticConsumer({
        brokers: this.brokers, clientId: this.clientId, groupId, topics: [topic.name], logger: this.logger,
        partitionsConsumedConcurrently: 1, fromBeginning: opts.fromBeginning ?? false, fetch: { minBytes: 1, maxWaitMs: 50 },
      });
      this.ports.push(port);
      void port.run(async (batch) => {
        for (const m of batch.messages) {
          await decode(m, batch.partition);
          batch.resolveOffset(m.offset);
        }
      });
      const deadline = Date.now() + 30_000;
      while (!port.ready()) {
        if (Date.now() > deadline) throw new Error(`consumer of ${topic.name} did not join its group within 30 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return;
    }
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: 50 });
    this.consumers.push(consumer);
    await consumer.connect();
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.subscribe({ topics: [topic.name], fromBeginning: opts.fromBeginning ?? false });
    await consumer.run({
      eachMessage: ({ message, partition }) => decode({ key: message.key, value: message.value, headers: (message.headers ?? {}) as Record<string, Buffer | string | undefined> }, partition),
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
    for (const c of this.ports.splice(0)) await c.stop().catch(() => undefined);
    const port = this.port;
    this.port = null;
    await port?.then((p) => p.close()).catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = null;
  }
}
