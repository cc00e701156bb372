import { Kafka, Partitioners, logLevel, type Consumer, type Producer, type LogEntry } from "kafkajs";
import { withDeadline } from "./deadline.ts";
import type { Logger } from "./logger.ts";
import type { BatchHandle, ConsumerPort, ProducedRecord, ProducerPort, TopicPartition } from "./transport.ts";

const levels: Record<number, keyof Pick<Logger, "error" | "warn" | "info" | "debug">> = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

export interface KafkaTimeouts {
  /** Connecting to one broker (KafkaJS default 1 s). */
  readonly connectTimeoutMs?: number;
  /** One request to a broker: metadata, admin, produce, commit (KafkaJS default 30 s). */
  readonly requestTimeoutMs?: number;
}

export function createKafka(opts: { brokers: readonly string[]; clientId: string; logger: Logger } & KafkaTimeouts): Kafka {
  const log = opts.logger.child({ component: "kafkajs" });
  return new Kafka({
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    connectionTimeout: opts.connectTimeoutMs ?? 5_000,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 300, retries: 8 },
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      log[levels[entry.level] ?? "info"](rest, message);
    },
  });
}

export interface ProducerDeadlines {
  /** Connecting at start-up, with the client's own retries (default 30 s). */
  readonly connectTimeoutMs?: number;
  /**
   * One whole send, the client's retries included (default 60 s). Past it the caller retries or
   * re-delivers: a late acknowledgement of the abandoned send only makes a duplicate, which
   * downstream collapses by request_id.
   */
  readonly sendTimeoutMs?: number;
}

/** Idempotent producer, acks from all in-sync replicas: a resolved send is durable and not duplicated by producer retries. */
export async function kafkaProducer(kafka: Kafka, deadlines: ProducerDeadlines = {}): Promise<ProducerPort> {
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  const sendTimeoutMs = deadlines.sendTimeoutMs ?? 60_000;
  await withDeadline("kafka: connect the producer", deadlines.connectTimeoutMs ?? 30_000, () => producer.connect());
  return {
    async send(records: readonly ProducedRecord[]) {
      if (records.length === 0) return;
      const byTopic = new Map<string, { key: string | null; value: Buffer; headers?: Record<string, string | Buffer> }[]>();
      for (const r of records) {
        let list = byTopic.get(r.topic);
        if (!list) byTopic.set(r.topic, (list = []));
        list.push(r.headers ? { key: r.key, value: r.value, headers: r.headers } : { key: r.key, value: r.value });
      }
      await withDeadline(`kafka: send ${records.length} record(s)`, sendTimeoutMs, () =>
        producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) }),
      );
    },
    close: () => producer.disconnect(),
  };
}

/** What one fetch may carry, in all and of one partition (a broker returns a first batch larger than either whole). */
export const DEFAULT_FETCH_MAX_BYTES = 4 * 1024 * 1024;
export const DEFAULT_FETCH_PARTITION_MAX_BYTES = 1024 * 1024;

export interface KafkaConsumerOptions {
  groupId: string;
  topics: readonly string[];
  partitionsConsumedConcurrently: number;
  sessionTimeoutMs?: number;
  /**
   * When a fetch returns: once `minBytes` are waiting or after `maxWaitMs` (default 1 byte, 100 ms);
   * what it may carry: `maxBytes` in all, `maxBytesPerPartition` of one partition (default 4 MiB, 1 MiB).
   */
  fetch?: { minBytes: number; maxWaitMs: number; maxBytes?: number; maxBytesPerPartition?: number };
  fromBeginning?: boolean;
  /**
   * Commit only through `commit()` (autoCommit off): resolved offsets then just move the fetch
   * position. For services that hold inputs across batches and commit a watermark.
   */
  manualCommit?: boolean;
  logger: Logger;
  /** Connecting and subscribing at start-up (default 30 s). */
  connectTimeoutMs?: number;
  /** The consumer crashed and KafkaJS will not restart it: only a new process recovers. */
  onFatal?: (reason: string) => void;
}

/**
 * The KafkaJS side of the at-least-once loop (KafkaJS docs, "Consuming"): offsets are resolved
 * by the handler only after its outputs are acknowledged, and committed from those resolutions.
 */
export async function kafkaConsumer(kafka: Kafka, opts: KafkaConsumerOptions): Promise<ConsumerPort> {
  const sessionTimeout = opts.sessionTimeoutMs ?? 30_000;
  const consumer: Consumer = kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout,
    // Kafka's guidance: heartbeat at most a third of the session timeout.
    heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
    minBytes: opts.fetch?.minBytes ?? 1,
    maxWaitTimeInMs: opts.fetch?.maxWaitMs ?? 100,
    maxBytes: opts.fetch?.maxBytes ?? DEFAULT_FETCH_MAX_BYTES,
    maxBytesPerPartition: opts.fetch?.maxBytesPerPartition ?? DEFAULT_FETCH_PARTITION_MAX_BYTES,
    retry: { retries: 10 },
  });
  let joined = false;
  let crashed: unknown;
  const assignmentListeners: ((assigned: readonly TopicPartition[]) => void)[] = [];
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    joined = true;
    crashed = undefined;
    const assigned = Object.entries(e.payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })));
    for (const l of assignmentListeners) l(assigned);
  });
  consumer.on(consumer.events.CRASH, (e) => {
    crashed = e.payload.error;
    opts.logger.error({ err: e.payload.error, restart: e.payload.restart }, "consumer crashed");
    if (!e.payload.restart) opts.onFatal?.(`consumer crashed and will not restart: ${e.payload.error.message}`);
  });
  consumer.on(consumer.events.STOP, () => {
    joined = false;
  });
  const connectMs = opts.connectTimeoutMs ?? 30_000;
  await withDeadline("kafka: connect the consumer", connectMs, () => consumer.connect());
  await withDeadline(`kafka: subscribe to ${opts.topics.join(", ")}`, connectMs, () => consumer.subscribe({ topics: [...opts.topics], fromBeginning: opts.fromBeginning ?? true }));
  return {
    async run(handler) {
      await consumer.run({
        autoCommit: !opts.manualCommit,
        autoCommitInterval: 500,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently,
        eachBatch: async (p) => {
          const handle: BatchHandle = {
            topic: p.batch.topic,
            partition: p.batch.partition,
            messages: p.batch.messages.map((m) => ({
              key: m.key ?? null,
              value: m.value ?? null,
              headers: (m.headers ?? {}) as Record<string, Buffer | string | undefined>,
              offset: m.offset,
              timestamp: m.timestamp,
            })),
            resolveOffset: p.resolveOffset,
            heartbeat: p.heartbeat,
            commitOffsetsIfNecessary: () => p.commitOffsetsIfNecessary(),
            isRunning: p.isRunning,
            isStale: p.isStale,
          };
          await handler(handle);
        },
      });
    },
    async stop() {
      await consumer.stop();
      await consumer.disconnect();
    },
    ready: () => joined && crashed === undefined,
    ...(opts.manualCommit
      ? {
          commit: (offsets) => consumer.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }))),
          onAssignment: (listener) => {
            assignmentListeners.push(listener);
          },
        }
      : {}),
  };
}
