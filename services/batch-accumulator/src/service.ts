import { Redis } from "ioredis";
import { topics } from "@costwise/schemas";
import { catalog as defaultCatalog, withUnpricedPolicy, type PriceCatalog } from "@costwise/pricing";
import { countChatTokens, createProviders, type Providers } from "@costwise/providers";
import {
  createLogger,
  startOutputProducer,
  startService,
  StreamMetrics,
  type Closeable,
  type Logger,
  type RunningService,
  startupStep,
  withDeadline,
} from "@costwise/stream-runtime";
import { Accumulator } from "./accumulator.ts";
import { Batcher } from "./batcher.ts";
import type { BatchAccumulatorConfig } from "./config.ts";
import { BatchLifecycle } from "./lifecycle.ts";
import { effectiveLimits } from "./limits.ts";
import { BatchMetrics } from "./metrics.ts";
import type { DeadlinePolicy } from "./policy.ts";
import { createProcess } from "./process.ts";
import { anthropicBatchApi, openAiBatchApi } from "./provider-api.ts";
import { BatchStore } from "./store.ts";

export const SERVICE_NAME = "batch-accumulator";

export interface RunningBatchAccumulator extends RunningService {
  readonly lifecycle: BatchLifecycle;
  readonly batcher: Batcher;
  readonly store: BatchStore;
}

export interface StartOptions {
  readonly logger?: Logger;
  readonly catalog?: PriceCatalog;
  readonly now?: () => number;
  /** Use these provider clients instead of building them from the config (they are not closed on stop). */
  readonly providers?: Providers;
}

export function policyOf(config: BatchAccumulatorConfig): DeadlinePolicy {
  return { turnaroundMs: config.BATCH_TURNAROUND_MS, realtimeBudgetMs: config.REALTIME_BUDGET_MS, maxBatchAttempts: config.BATCH_MAX_ATTEMPTS };
}

export function storeOf(redis: Redis, config: Pick<BatchAccumulatorConfig, "BATCH_KEY_PREFIX" | "BATCH_CLAIM_TTL_S" | "BATCH_RETENTION_S">): BatchStore {
  return new BatchStore(redis, { prefix: config.BATCH_KEY_PREFIX, claimTtlSeconds: config.BATCH_CLAIM_TTL_S, retentionSeconds: config.BATCH_RETENTION_S });
}

/**
 * The batch accumulator as a running service: the runtime's loop consumes llm.requests.batch with
 * a commit watermark (held requests stay uncommitted until their batch is submitted), and the batch
 * lifecycle polls the providers and produces responses, cost records and fallbacks.
 */
export async function startBatchAccumulator(config: BatchAccumulatorConfig, opts: StartOptions = {}): Promise<RunningBatchAccumulator> {
  const logger = opts.logger ?? createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });
  const catalog = opts.catalog ?? withUnpricedPolicy(defaultCatalog, config.UNPRICED_MODELS);
  const now = opts.now ?? Date.now;
  const opened: Closeable[] = [];
  try {
    const providers = opts.providers ?? createProviders(config, { catalog, logger });
    if (!opts.providers) opened.push({ name: "providers", close: () => providers.close() });
    // Every command has a deadline: a Redis that stops answering fails the call (retried by the loop) instead of hanging it.
    const redis = new Redis(config.REDIS_URL, { lazyConnect: true, connectTimeout: 5_000, commandTimeout: 10_000 });
    await startupStep("connect to redis", () => withDeadline("redis: connect", 30_000, () => redis.connect()));
    opened.push({ name: "redis", close: async () => void (await redis.quit()) });
    const metrics = new StreamMetrics(SERVICE_NAME);
    // Outputs of finished batches leave through a producer of their own: they are not tied to an input batch.
    const output = await startOutputProducer({
      name: `${SERVICE_NAME}-results`, config, topics: [topics.responses, topics.costRecords, topics.ready, topics.batch], logger, metrics,
    });
    opened.push({ name: "results-producer", close: () => output.close() });

    const store = storeOf(redis, config);
    const policy = policyOf(config);
    const observed = { held: () => 0, tracked: () => 0 };
    const batchMetrics = new BatchMetrics(metrics.registry, { held: () => observed.held(), tracked: () => observed.tracked() });
    const lifecycle = new BatchLifecycle({
      store,
      apis: {
        openai: openAiBatchApi(providers.openai, { usingEmulator: !config.OPENAI_API_KEY }),
        anthropic: anthropicBatchApi(providers.anthropic, { usingEmulator: !config.ANTHROPIC_API_KEY }),
      },
      output, catalog, defaultModel: config.COSTWISE_DEFAULT_MODEL, policy, now, logger, metrics: batchMetrics,
      settings: {
        instanceId: config.INSTANCE_ID, pollInitialMs: config.BATCH_POLL_INITIAL_MS, pollMaxMs: config.BATCH_POLL_MAX_MS, tickMs: config.BATCH_TICK_MS,
        leaseMs: config.BATCH_LEASE_MS, recoverEveryMs: config.BATCH_RECOVER_EVERY_MS, emitChunk: config.BATCH_EMIT_CHUNK,
        backoff: { attempts: Number.MAX_SAFE_INTEGER, initialDelayMs: config.RETRY_INITIAL_MS, maxDelayMs: config.RETRY_MAX_MS, jitter: 0.25 },
      },
    });
    const accumulator = new Accumulator({
      maxAgeMs: config.BATCH_MAX_AGE_MS,
      limits: (provider) => effectiveLimits(provider, { maxRequests: config.BATCH_MAX_REQUESTS, maxBytes: config.BATCH_MAX_BYTES }),
      policy,
    });
    const batcher = new Batcher(accumulator, (c) => lifecycle.flush(c), { maxHeld: config.BATCH_MAX_HELD, flushConcurrency: config.BATCH_FLUSH_CONCURRENCY, now, logger, metrics: batchMetrics });
    observed.held = () => batcher.held;
    observed.tracked = () => lifecycle.trackedCount;
    lifecycle.start();
    opened.push({ name: "lifecycle", close: () => lifecycle.stop() });
    opened.push({ name: "batcher", close: () => batcher.close() });

    const svc = await startService({
      name: SERVICE_NAME,
      input: topics.batch,
      outputs: [topics.responses, topics.costRecords, topics.ready, topics.batch],
      process: createProcess({ batcher, catalog, countTokens: countChatTokens, defaultModel: config.COSTWISE_DEFAULT_MODEL, policy, now, metrics: batchMetrics }),
      commitWatermark: (topic, partition) => batcher.watermark(topic, partition),
      config,
      logger,
      metrics,
      resources: opened,
    });
    return { ...svc, ready: () => svc.ready(), stop: () => svc.stop(), lifecycle, batcher, store };
  } catch (err) {
    for (const r of [...opened].reverse()) await Promise.resolve(r.close()).catch(() => undefined);
    throw err;
  }
}
