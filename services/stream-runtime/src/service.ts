import { topics, type TopicSpec } from "@costwise/schemas";
import type { BaseConfig } from "./config.ts";
import { ConfigError, errorMessage } from "./errors.ts";
import { startOpsServer, type OpsServer } from "./http.ts";
import { createKafka, kafkaConsumer, kafkaProducer } from "./kafka-transport.ts";
import { createLogger, type Logger } from "./logger.ts";
import { StreamMetrics } from "./metrics.ts";
import { createBatchHandler } from "./run-stream.ts";
import type { RetryPolicy } from "./retry.ts";
import { AvroSerde, confluentRegistry, type Serde } from "./serde.ts";
import type { ConsumerPort, ProducerPort } from "./transport.ts";
import type { BatchProcessFn, ProcessFn } from "./types.ts";
import { WatermarkCommits, type CommitWatermark } from "./watermark.ts";

/** Anything a service opened and must close on shutdown (clients, pools, timers). */
export interface Closeable {
  readonly name: string;
  close(): Promise<void> | void;
}

export interface ServiceSpec<T> {
  readonly name: string;
  readonly input: TopicSpec | readonly TopicSpec[];
  /** Topics the service writes (the dead-letter topic is implied). */
  readonly outputs: readonly TopicSpec[];
  readonly process?: ProcessFn<T>;
  readonly processBatch?: BatchProcessFn<T>;
  readonly config: BaseConfig;
  readonly logger?: Logger;
  readonly metrics?: StreamMetrics;
  /** Closed last-opened-first, after intake stopped and outputs were flushed. */
  readonly resources?: readonly Closeable[];
  readonly retry?: Partial<RetryPolicy>;
  /**
   * For services that `hold()` inputs across batches: the lowest offset still held per partition.
   * The consumer then commits manually, every COMMIT_INTERVAL_MS and at shutdown, never at or past it.
   */
  readonly commitWatermark?: CommitWatermark;
  /** See LoopOptions.acceptKey: inputs with other keys are passed over undecoded. */
  readonly acceptKey?: (key: Buffer | null) => boolean;
  /**
   * Where a consumer group without committed offsets starts: "beginning" (default) or "end", for a
   * per-replica group that only cares about what arrives from now on (it resumes from its commits after a restart).
   */
  readonly startAt?: "beginning" | "end";
  /** Replace Kafka and the registry (unit tests drive the real loop over the memory transport). */
  readonly transport?: { consumer: ConsumerPort; producer: ProducerPort; serde: Serde };
}

export interface RunningService {
  readonly name: string;
  readonly opsUrl: string;
  readonly metrics: StreamMetrics;
  ready(): boolean;
  /** Stop intake, finish in-flight work, commit, close everything. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startService<T>(spec: ServiceSpec<T>): Promise<RunningService> {
  const { config } = spec;
  const logger = spec.logger ?? createLogger({ service: spec.name, level: config.LOG_LEVEL });
  const metrics = spec.metrics ?? new StreamMetrics(spec.name);
  const inputs = Array.isArray(spec.input) ? (spec.input as readonly TopicSpec[]) : [spec.input as TopicSpec];
  const shutdown = new AbortController();
  const opened: Closeable[] = [];

  let consumer: ConsumerPort;
  let producer: ProducerPort;
  let serde: Serde;
  let watermark: WatermarkCommits | undefined;
  try {
    if (spec.transport) {
      ({ consumer, producer, serde } = spec.transport);
    } else {
      const avro = new AvroSerde(confluentRegistry(config.SCHEMA_REGISTRY_URL));
      await avro.init([...inputs, ...spec.outputs]);
      serde = avro;
      const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `costwise-${spec.name}`, logger });
      producer = await kafkaProducer(kafka);
      opened.push({ name: "producer", close: () => producer.close() });
      consumer = await kafkaConsumer(kafka, {
        groupId: config.GROUP_ID ?? `costwise-${spec.name}`,
        topics: inputs.map((t) => t.name),
        partitionsConsumedConcurrently: config.PARTITIONS_CONCURRENTLY,
        sessionTimeoutMs: config.SESSION_TIMEOUT_MS,
        manualCommit: spec.commitWatermark !== undefined,
        fromBeginning: spec.startAt !== "end",
        logger,
      });
    }
    if (spec.commitWatermark) {
      const c = consumer;
      if (!c.commit || !c.onAssignment) throw new ConfigError("commitWatermark needs a consumer that commits manually");
      const commits = new WatermarkCommits(spec.commitWatermark, (offsets) => c.commit!(offsets), logger);
      c.onAssignment(() => commits.forget());
      watermark = commits;
    }
  } catch (err) {
    for (const r of opened.reverse()) await Promise.resolve(r.close()).catch(() => undefined);
    throw err;
  }

  const handler = createBatchHandler<T>({
    service: spec.name,
    ...(spec.process ? { process: spec.process } : {}),
    ...(spec.processBatch ? { processBatch: spec.processBatch } : {}),
    serde,
    producer,
    logger,
    metrics,
    retry: {
      attempts: config.RETRY_ATTEMPTS,
      initialDelayMs: config.RETRY_INITIAL_MS,
      maxDelayMs: config.RETRY_MAX_MS,
      jitter: 0.25,
      ...spec.retry,
    },
    subBatchSize: config.SUB_BATCH_SIZE,
    concurrency: config.CONCURRENCY,
    deadLetterTopic: topics.deadLetters,
    signal: shutdown.signal,
    ...(watermark ? { watermark } : {}),
    ...(spec.acceptKey ? { acceptKey: spec.acceptKey } : {}),
  });

  const ops: OpsServer = await startOpsServer({ port: config.METRICS_PORT, registry: metrics.registry, ready: () => consumer.ready(), service: spec.name });
  await consumer.run(handler);
  const committing = watermark ? setInterval(() => void watermark.flush(), config.COMMIT_INTERVAL_MS) : undefined;
  committing?.unref();
  logger.info({ inputs: inputs.map((t) => t.name), ops: ops.url }, "service started");

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info({}, "shutting down: stopping intake");
      const hard = setTimeout(() => shutdown.abort(new Error("shutdown timeout")), config.SHUTDOWN_TIMEOUT_MS);
      hard.unref();
      try {
        if (committing) clearInterval(committing);
        // A stopped consumer can no longer commit: the watermark goes first (held inputs are read again).
        await watermark?.flush();
        await consumer.stop(); // waits for the batch in flight, commits what it resolved
        if (spec.transport) await producer.close();
        for (const r of [...opened, ...(spec.resources ?? [])].reverse()) {
          await Promise.resolve(r.close()).catch((err: unknown) => logger.warn({ resource: r.name, err: errorMessage(err) }, "close failed"));
        }
        await ops.close();
        logger.info({}, "stopped");
      } finally {
        clearTimeout(hard);
      }
    })());

  return { name: spec.name, opsUrl: ops.url, metrics, ready: () => consumer.ready(), stop };
}

/**
 * Run a service as the process's main: SIGTERM/SIGINT stop it cleanly (then exit 0); a startup
 * failure or a second signal exits non-zero. Keeps main.ts files to wiring only.
 */
export function runMain(name: string, start: () => Promise<RunningService>): void {
  const logger = createLogger({ service: name, level: process.env.LOG_LEVEL ?? "info" });
  let running: RunningService | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    logger.info({ signal }, "signal received");
    void (running ? running.stop() : Promise.resolve()).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: errorMessage(err) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  start().then(
    (svc) => {
      running = svc;
    },
    (err: unknown) => {
      logger.error({ err: errorMessage(err), stack: (err as Error).stack }, "failed to start");
      setTimeout(() => process.exit(1), 100);
    },
  );
}
