import { Redis } from "ioredis";
import { catalog } from "@costwise/pricing";
import { countChatTokens, countTextTokens, createProviders, type Providers } from "@costwise/providers";
import { topics } from "@costwise/schemas";
import { createLogger, startService, StreamMetrics, type Closeable, type Logger, type RunningService } from "@costwise/stream-runtime";
import { redisBoilerplateStore } from "./boilerplate-store.ts";
import { createCompressor } from "./compressor.ts";
import type { CompressionConfig } from "./config.ts";
import { CompressionMetrics } from "./metrics.ts";
import { loadPolicyFile, type CompressionPolicy } from "./policy.ts";
import { createProcess } from "./process.ts";
import { httpExternalCompressor } from "./strategies/external.ts";
import { checkPolicy, createStrategy, type StrategyDeps } from "./strategies/index.ts";

const uses = (policy: CompressionPolicy, pred: (s: CompressionPolicy["default"]["strategies"][number]) => boolean) =>
  [policy.default, ...Object.values(policy.use_cases)].some((p) => p.strategies.some(pred));

/**
 * Build the compression service from its config: the policy file, and only the clients its
 * strategies need (Redis for learnt boilerplate, the provider layer for summaries, the external
 * compressor). Consumes llm.requests.routed; produces to llm.requests.ready and llm.requests.batch.
 */
export async function startCompression(config: CompressionConfig, opts: { logger?: Logger; policy?: CompressionPolicy; name?: string } = {}): Promise<RunningService> {
  const name = opts.name ?? "compression";
  const logger = opts.logger ?? createLogger({ service: name, level: config.LOG_LEVEL });
  const policy = opts.policy ?? loadPolicyFile(config.COMPRESSION_POLICY_FILE);
  const resources: Closeable[] = [];
  const streamMetrics = new StreamMetrics(name);
  const metrics = new CompressionMetrics(streamMetrics.registry);

  let redis: Redis | null = null;
  if (uses(policy, (s) => s.name === "boilerplate" && s.learn)) {
    // Fail fast instead of queueing: a request must not wait for Redis, it is only normalised meanwhile.
    redis = new Redis(config.REDIS_URL, { enableOfflineQueue: false, commandTimeout: 500, maxRetriesPerRequest: 1 });
    redis.on("error", (err: Error) => logger.warn({ err: err.message }, "redis error"));
    const r = redis;
    resources.push({ name: "redis", close: async () => void (await r.quit().catch(() => r.disconnect())) });
  }
  let providers: Providers | null = null;
  if (uses(policy, (s) => s.name === "summarise")) {
    providers = createProviders(config, { catalog, logger });
    const p = providers;
    resources.push({ name: "providers", close: () => p.close() });
  }

  const deps: StrategyDeps = {
    catalog,
    now: Date.now,
    boilerplateStore: redis
      ? redisBoilerplateStore(redis, { decay: { bucketMs: config.BOILERPLATE_BUCKET_SECONDS * 1000, windowBuckets: config.BOILERPLATE_WINDOW_BUCKETS, halfLifeBuckets: config.BOILERPLATE_HALF_LIFE_BUCKETS } })
      : null,
    chat: providers,
    external: config.COMPRESSION_EXTERNAL_URL ? httpExternalCompressor({ url: config.COMPRESSION_EXTERNAL_URL, timeoutMs: config.COMPRESSION_EXTERNAL_TIMEOUT_MS }) : null,
    onEvent: (strategy, event) => metrics.strategyEvents.inc({ strategy, event }),
  };
  try {
    checkPolicy(policy, deps);
    const compress = createCompressor(policy, (_useCase, p) => p.strategies.map((s) => createStrategy(s, deps)));
    logger.info({ policy: config.COMPRESSION_POLICY_FILE, useCases: Object.keys(policy.use_cases) }, "compression policy loaded");
    return await startService({
      name,
      input: topics.routed,
      outputs: [topics.ready, topics.batch, topics.responses, topics.costRecords],
      process: createProcess({
        compress,
        catalog,
        countTokens: countTextTokens,
        countChatTokens,
        defaultModel: config.COSTWISE_DEFAULT_MODEL,
        dispatch: { minBatchDeadlineMs: config.BATCH_MIN_DEADLINE_MS },
        maxContextChars: config.COMPRESSION_MAX_CONTEXT_CHARS,
        now: Date.now,
        metrics,
      }),
      config,
      logger,
      metrics: streamMetrics,
      resources,
    });
  } catch (err) {
    for (const r of [...resources].reverse()) await Promise.resolve(r.close()).catch(() => undefined);
    throw err;
  }
}
