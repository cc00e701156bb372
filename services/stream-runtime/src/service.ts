import { setFlagsFromString } from "node:v8";
import { topicNamespace, topics, type TopicSpec } from "@costwise/schemas";
import type { BaseConfig } from "./config.ts";
import { z } from "zod";
import { StartupTimeoutError, withDeadline, DeadlineExceededError } from "./deadline.ts";
import { ConfigError, errorMessage } from "./errors.ts";
import { ServiceHealth } from "./health.ts";
import { startOpsServer, type OpsServer } from "./http.ts";
import { createKafka, kafkaConsumer, type KafkaConsumerOptions } from "./kafka-transport.ts";
import { connectProducer } from "./producers.ts";
import { createLogger, type Logger } from "./logger.ts";
import { StreamMetrics } from "./metrics.ts";
import { createBatchHandler } from "./run-stream.ts";
import type { RetryPolicy } from "./retry.ts";
import { AvroSerde, confluentRegistry, type RegistryPort, type Serde } from "./serde.ts";
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
  /** Replace only the registry (tests of registry failures); default the Confluent client with the configured deadlines. */
  readonly registry?: RegistryPort;
  /** Start-up steps and readiness as /health reports them; default the process's (runMain) or a new one. */
  readonly health?: ServiceHealth;
}

export interface RunningService {
  readonly name: string;
  readonly opsUrl: string;
  readonly metrics: StreamMetrics;
  /** Start-up steps and readiness (services built on startService; others report through `ready`). */
  readonly health?: ServiceHealth;
  ready(): boolean;
  /** Stop intake, finish in-flight work, commit, close everything. Safe to call twice. */
  stop(): Promise<void>;
}

/** The health of the service runMain runs: start-up steps of main.ts and of startService report to it. */
let mainHealth: ServiceHealth | undefined;

/**
 * One named start-up step of the process (loading a model, connecting a store): /health shows it
 * while it runs, and a start-up that times out names it.
 */
export function startupStep<T>(name: string, fn: () => Promise<T>): Promise<T> {
  return mainHealth ? mainHealth.step(name, fn) : fn();
}

export async function startService<T>(spec: ServiceSpec<T>): Promise<RunningService> {
  const { config } = spec;
  const logger = spec.logger ?? createLogger({ service: spec.name, level: config.LOG_LEVEL });
  const metrics = spec.metrics ?? new StreamMetrics(spec.name);
  const health = spec.health ?? mainHealth ?? new ServiceHealth();
  health.loopStarting();
  const inputs = Array.isArray(spec.input) ? (spec.input as readonly TopicSpec[]) : [spec.input as TopicSpec];
  const shutdown = new AbortController();
  const opened: Closeable[] = [];

  // Opened first, so that a supervisor or a probe sees "starting" and the step while start-up runs.
  const ops: OpsServer = await startOpsServer({ port: config.METRICS_PORT, host: config.OPS_HOST, registry: metrics.registry, health: () => health.snapshot(), service: spec.name });
  let consumer: ConsumerPort;
  let producer: ProducerPort;
  let serde: Serde;
  let watermark: WatermarkCommits | undefined;
  try {
    if (spec.transport) {
      ({ consumer, producer, serde } = spec.transport);
    } else {
      const registry = spec.registry ?? confluentRegistry(config.SCHEMA_REGISTRY_URL, { timeoutMs: config.REGISTRY_TIMEOUT_MS, attempts: config.REGISTRY_ATTEMPTS });
      const avro = new AvroSerde(registry);
      const used = [...inputs, ...spec.outputs];
      await health.step(`schema registry: register ${used.length} subject(s)`, () => avro.init(used));
      serde = avro;
      const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `costwise-${spec.name}`, logger, connectTimeoutMs: config.KAFKA_CONNECT_TIMEOUT_MS, requestTimeoutMs: config.KAFKA_REQUEST_TIMEOUT_MS });
      producer = await health.step("kafka: connect the producer", () => connectProducer(config, `costwise-${spec.name}`, () => kafka));
      opened.push({ name: "producer", close: () => producer.close() });
      const consumerOptions: KafkaConsumerOptions = {
        // A namespaced pipeline (its own topics) gets its own groups too: members of one group that
        // subscribe to different topics would rebalance each other on every start and stop.
        groupId: config.GROUP_ID ?? `${topicNamespace()}costwise-${spec.name}`,
        topics: inputs.map((t) => t.name),
        partitionsConsumedConcurrently: config.PARTITIONS_CONCURRENTLY,
        sessionTimeoutMs: config.SESSION_TIMEOUT_MS,
        fetch: { minBytes: config.FETCH_MIN_BYTES, maxWaitMs: config.FETCH_MAX_WAIT_MS, maxBytes: config.FETCH_MAX_BYTES, maxBytesPerPartition: config.FETCH_PARTITION_MAX_BYTES },
        manualCommit: spec.commitWatermark !== undefined,
        fromBeginning: spec.startAt !== "end",
        logger,
        onFatal: (reason) => health.fail(reason),
      };
      consumer = await health.step("kafka: connect and subscribe the consumer", async () => {
        if (config.KAFKA_CLIENT !== "platformatic") return kafkaConsumer(kafka, consumerOptions);
        // Loaded only when chosen, as the producer (see connectProducer).
        const { platformaticConsumer } = await import("./platformatic-consumer.ts");
        return platformaticConsumer({
          ...consumerOptions,
          brokers: config.KAFKA_BROKERS,
          clientId: `costwise-${spec.name}`,
          kafka: { connectTimeoutMs: config.KAFKA_CONNECT_TIMEOUT_MS, requestTimeoutMs: config.KAFKA_REQUEST_TIMEOUT_MS },
        });
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
    await ops.close().catch(() => undefined);
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
    health,
    ...(watermark ? { watermark } : {}),
    ...(spec.acceptKey ? { acceptKey: spec.acceptKey } : {}),
  });

  await consumer.run(handler);
  health.running(() => consumer.ready());
  const committing = watermark ? setInterval(() => void watermark.flush(), config.COMMIT_INTERVAL_MS) : undefined;
  committing?.unref();
  logger.info({ inputs: inputs.map((t) => t.name), ops: ops.url }, "service started");

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      logger.info({}, "shutting down: stopping intake");
      health.stopping();
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

  return { name: spec.name, opsUrl: ops.url, metrics, health, ready: () => consumer.ready(), stop };
}

const mainEnvSchema = z.object({
  LOG_LEVEL: z.string().default("info"),
  STARTUP_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
  /** Set by `npm start`: a service whose supervisor is gone stops instead of running on as an orphan. */
  COSTWISE_SUPERVISOR_PID: z.coerce.number().int().positive().optional(),
  /** See `heapGrowingFlag`; 0 leaves V8's own growing factor. */
  HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(300).default(20),
});

/**
 * V8 lets the heap grow to up to four times what survived the last full collection before it
 * collects again. A service's live set is small (tens of MB) and its garbage rate high, so under
 * load its memory settles at several times what it holds; `--heap-growing-percent` caps that
 * factor at 1 + percent/100 without a hard limit (a limit crashes a process whose live set grows).
 * V8 reads the flag at every collection, so setting it at start-up takes effect in any runtime
 * (npm start, a container, a pod) without NODE_OPTIONS, which does not accept it.
 */
export function heapGrowingFlag(percent: number): string | null {
  return percent > 0 ? `--heap-growing-percent=${percent}` : null;
}

/**
 * Run a service as the process's main: SIGTERM/SIGINT stop it cleanly (then exit 0); a startup
 * failure or a second signal exits non-zero. Start-up (the steps of `start`, then joining the
 * consumer group) must finish within STARTUP_TIMEOUT_MS, or the process exits 1 naming the step
 * it was stuck at: a supervisor then restarts it, where a hung process would wait for a person.
 * Keeps main.ts files to wiring only.
 */
export function runMain(name: string, start: () => Promise<RunningService>): void {
  const env = mainEnvSchema.parse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined && v !== "")));
  const growing = heapGrowingFlag(env.HEAP_GROWING_PERCENT);
  if (growing) setFlagsFromString(growing);
  const logger = createLogger({ service: name, level: env.LOG_LEVEL });
  const health = (mainHealth = new ServiceHealth());
  let running: RunningService | undefined;
  let signals = 0;
  const stopAndExit = (code: number, why: Record<string, unknown>) => {
    logger.info(why, "stopping");
    void (running ? running.stop() : Promise.resolve()).then(
      () => process.exit(code),
      (err: unknown) => {
        logger.error({ err: errorMessage(err) }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    stopAndExit(0, { signal });
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  if (env.COSTWISE_SUPERVISOR_PID !== undefined) {
    const supervisor = env.COSTWISE_SUPERVISOR_PID;
    setInterval(() => {
      if (process.ppid !== supervisor && signals++ === 0) stopAndExit(0, { reason: `supervisor (pid ${supervisor}) is gone` });
    }, 1_000).unref();
  }

  const t0 = Date.now();
  const startup = async () => {
    const svc = (running = await start());
    // A process that is not a stream service (the dashboard, the alert loop) reports through ready().
    if (svc.health !== health) health.running(() => svc.ready());
    await health.step("join the consumer group", async () => {
      while (health.status() === "starting") await new Promise((r) => setTimeout(r, 100));
    });
  };
  withDeadline("start-up", env.STARTUP_TIMEOUT_MS, startup).then(
    () => logger.info({ ms: Date.now() - t0, steps: health.snapshot().stepsDone }, "ready"),
    (err: unknown) => {
      const failure = err instanceof DeadlineExceededError && err.what === "start-up" ? new StartupTimeoutError(health.currentStepName(), env.STARTUP_TIMEOUT_MS) : err;
      logger.error({ err: errorMessage(failure), step: health.currentStepName(), stack: (failure as Error).stack }, "failed to start");
      // Whatever did open (ports, connections) goes with the process; a bounded stop flushes nothing that matters yet.
      const exit = () => setTimeout(() => process.exit(1), 100);
      if (running) void Promise.race([running.stop(), new Promise((r) => setTimeout(r, 5_000))]).finally(exit);
      else exit();
    },
  );
}
