import { catalog } from "@costwise/pricing";
import { countChatTokens, createProviders, type Providers } from "@costwise/providers";
import { topics } from "@costwise/schemas";
import { createLogger, errorMessage, startService, startupStep, StreamMetrics, type Closeable, type Logger, type RunningService, type ServiceSpec } from "@costwise/stream-runtime";
import { ScopedAnnIndex } from "./ann.ts";
import { embeddingModelDirOf, type CacheConfig } from "./config.ts";
import { batchingEmbedder, embedderLanes, EmbeddingError, openaiEmbedder, threadedEmbedder, type Embedder } from "@costwise/embeddings";
import { createCacheEngine, type CacheEngine } from "./engine.ts";
import { CacheMetrics } from "./metrics.ts";
import { loadPolicies, staticThresholdUseCases } from "./policy.ts";
import { embeddingAnswerVerifier, type AnswerVerifier } from "./verifier.ts";
import { createProcess } from "./process.ts";
import { connectRedisStore, type RedisCacheStore } from "./redis-store.ts";
import { IndexSync } from "./sync.ts";
import { createCacheFeedback, redisHitLedger, type CacheFeedback } from "./feedback.ts";
import { BackoffView, redisBackoffStore } from "@costwise/outcomes";

export interface CacheRuntime {
  readonly engine: CacheEngine;
  readonly store: RedisCacheStore;
  readonly index: ScopedAnnIndex;
  readonly embedder: Embedder | null;
  readonly verifier: AnswerVerifier | null;
  readonly sync: IndexSync | null;
  readonly feedback: CacheFeedback;
  readonly resources: Closeable[];
}

/**
 * The embedders the config asks for: `query` for lookups (a request waits on it), `background` for
 * what learning and judging embed (answers; nobody waits). On a local model they are two priority
 * lanes of one worker, so a lookup never queues behind a burst of answers being learned; the API
 * embedder serves both (its calls run side by side). A local model that cannot load is not fatal:
 * the cache runs exact-only and says so (semantic hits come back with the next start once the model
 * is there).
 */
export interface CacheEmbedders {
  readonly query: Embedder;
  readonly background: Embedder;
  close(): Promise<void>;
}

export async function createEmbedder(config: CacheConfig, deps: { logger: Logger; providers?: Providers }): Promise<CacheEmbedders | null> {
  if (config.CACHE_EMBEDDINGS === "off") return null;
  if (config.CACHE_EMBEDDINGS === "openai") {
    // One HTTP call per 256 texts: the API bills per token, not per call, and latency is per call.
    const api = batchingEmbedder(openaiEmbedder({ providers: deps.providers!, model: config.CACHE_OPENAI_EMBEDDING_MODEL, catalog }), 256);
    return { query: api, background: api, close: async () => undefined };
  }
  try {
    const local = await startupStep("load the embedding model", () => threadedEmbedder({ modelDir: embeddingModelDirOf(config), threads: config.CACHE_EMBEDDING_THREADS }));
    if (local.name !== `local:${config.CACHE_EMBEDDING_MODEL}` && !config.CACHE_EMBEDDING_MODEL_DIR) {
      await local.close?.();
      throw new EmbeddingError(`the model directory holds ${local.name}, not ${config.CACHE_EMBEDDING_MODEL}`);
    }
    // Batching in front of each lane: a model run never mixes lookups with answers.
    const lanes = embedderLanes(local);
    return { query: batchingEmbedder(lanes.foreground), background: batchingEmbedder(lanes.background), close: () => lanes.close() };
  } catch (err) {
    deps.logger.error({ err: errorMessage(err) }, "embedding model unavailable: semantic caching is off, exact caching continues");
    return null;
  }
}

/** Store, index, embedder and engine, wired from config; the index follows Redis in the background. */
export async function createCacheRuntime(config: CacheConfig, deps: { logger: Logger; metrics?: CacheMetrics; now?: () => number }): Promise<CacheRuntime> {
  const now = deps.now ?? Date.now;
  const policies = loadPolicies(config.CACHE_POLICY_FILE);
  for (const useCase of staticThresholdUseCases(policies)) {
    deps.logger.warn({ useCase }, "semantic caching with a fixed similarity threshold: no bound on wrong answers (state max_wrong_rate instead)");
  }
  const resources: Closeable[] = [];
  let providers: Providers | undefined;
  if (config.CACHE_EMBEDDINGS === "openai") {
    providers = createProviders(config, { catalog, logger: deps.logger });
    resources.push({ name: "providers", close: () => providers!.close() });
  }
  const embedders = await createEmbedder(config, { logger: deps.logger, ...(providers ? { providers } : {}) });
  if (embedders) resources.push({ name: "embedder", close: () => embedders.close() });
  const embedder = embedders?.query ?? null;

  let warned = 0;
  const redis = connectRedisStore(config.REDIS_URL, {
    prefix: config.CACHE_KEY_PREFIX,
    timeoutMs: config.CACHE_REDIS_TIMEOUT_MS,
    onError: (err) => {
      // One line per 10 s while Redis is away, not one per reconnect attempt.
      if (now() - warned > 10_000) {
        warned = now();
        deps.logger.warn({ err: errorMessage(err) }, "redis unavailable: cache lookups pass as misses");
      }
    },
  });
  resources.push({ name: "redis", close: () => redis.close() });
  if (!(await startupStep("connect to redis", () => redis.ready(2_000)))) deps.logger.warn({}, "redis not reachable at start: lookups pass as misses until it is");

  const index = new ScopedAnnIndex({ dimensions: embedder?.dimensions ?? 384 });
  // The judge reuses the query model on the two answers: no second model, no provider call.
  // A local judge is free, so it also embeds each learned answer once: the decision rule then knows
  // whether two neighbours' answers agree without a call.
  const verifier = embedders ? embeddingAnswerVerifier(embedders.background, config.CACHE_VERIFY_MIN_COSINE, { keepAnswerVectors: config.CACHE_EMBEDDINGS === "local" }) : null;
  // Semantic hits of a use case whose outcomes regressed against its misses are backed off (exact only).
  const backoffStore = redisBackoffStore(config.REDIS_URL, { key: config.OUTCOME_BACKOFF_KEY, timeoutMs: config.CACHE_REDIS_TIMEOUT_MS * 4, onError: (err) => deps.logger.debug({ err: errorMessage(err) }, "backoffs not read") });
  const backoffs = new BackoffView(backoffStore, { refreshMs: config.CACHE_BACKOFF_REFRESH_MS, now, onError: (err) => deps.logger.debug({ err: errorMessage(err) }, "backoffs not refreshed") });
  await backoffs.start();
  resources.push({ name: "backoffs", close: async () => { backoffs.close(); await backoffStore.close(); } });
  const engine = createCacheEngine({
    store: redis.store, index, embedder, verifier, policies, now, logger: deps.logger, candidates: config.CACHE_ANN_CANDIDATES,
    exactOnly: (useCase) => {
      const b = backoffs.cacheExactOnly(useCase);
      return b ? b.reason : null;
    },
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  // Closed before Redis: this replica's last traffic counts reach the shared calibration.
  resources.push({ name: "calibration", close: () => engine.flushCalibration() });
  let sync: IndexSync | null = null;
  if (embedder) {
    sync = new IndexSync({ store: redis.store, index, embedder: embedder.name, logger: deps.logger, now, ...(deps.metrics ? { metrics: deps.metrics } : {}) });
    // Serve once the index holds what Redis holds (a restart keeps its semantic hits), unless Redis is away.
    if (!(await startupStep("rebuild the vector index from redis", () => sync!.start(config.CACHE_REBUILD_WAIT_MS)))) deps.logger.warn({ waitedMs: config.CACHE_REBUILD_WAIT_MS }, "starting before the vector index was rebuilt (redis unavailable); it will catch up");
    // Stopped before Redis closes (resources close last-opened-first).
    resources.push({ name: "index-sync", close: () => sync!.stop() });
  }
  // The admin connection: outcomes are off the request path.
  const feedback = createCacheFeedback({ ledger: redisHitLedger(redis.clients[1]!, config.CACHE_KEY_PREFIX), store: redis.store, policies, now });
  return { engine, store: redis.store, index, embedder, verifier, sync, feedback, resources };
}

/**
 * The cache service: llm.requests, llm.responses and llm.cache.verifications in; llm.responses,
 * llm.cost-records, llm.requests.uncached and llm.cache.verifications out.
 */
export async function startCacheService(config: CacheConfig, opts: { logger?: Logger; transport?: ServiceSpec<unknown>["transport"] } = {}): Promise<RunningService> {
  const logger = opts.logger ?? createLogger({ service: "cache", level: config.LOG_LEVEL });
  const streamMetrics = new StreamMetrics("cache");
  const metrics = new CacheMetrics(streamMetrics.registry);
  const rt = await createCacheRuntime(config, { logger, metrics });
  try {
    return await startService({
      name: "cache",
      // One consumer group reads both: lookups and learning share the at-least-once loop, the
      // offsets and the /metrics endpoint; learning is idempotent, so redelivery is harmless.
      // Verifications go through their own topic so that judging never holds up a lookup or a learn.
      input: [topics.requests, topics.responses, topics.cacheVerifications, topics.outcomes],
      outputs: [topics.uncached, topics.responses, topics.costRecords, topics.cacheVerifications],
      process: createProcess({
        engine: rt.engine, store: rt.store, catalog, countTokens: countChatTokens, defaultModel: config.CACHE_BASELINE_MODEL,
        pendingTtlMs: config.CACHE_PENDING_TTL_S * 1000, now: Date.now, metrics, embeddingModel: rt.embedder?.name ?? null, verifyCostNanoUsd: 0, feedback: rt.feedback,
      }),
      config,
      logger,
      metrics: streamMetrics,
      resources: rt.resources,
      ...(opts.transport ? { transport: opts.transport } : {}),
    });
  } catch (err) {
    for (const r of [...rt.resources].reverse()) await Promise.resolve(r.close()).catch(() => undefined);
    throw err;
  }
}
