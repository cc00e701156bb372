import { createClient } from "@clickhouse/client";
import { renderMessages } from "@costwise/schemas";
import { catalog as defaultCatalog, type PriceCatalog } from "@costwise/pricing";
import { createProviders } from "@costwise/providers";
import { topics, type LlmOutcome, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { createLogger, errorMessage, startService, StreamMetrics, type Logger, type RunningService } from "@costwise/stream-runtime";
import { batchingEmbedder, threadedEmbedder, type Embedder } from "@costwise/embeddings";
import { ROUTER_EMBEDDING_NAME, type RouterConfig } from "./config.ts";
import type { RouteEmbedder } from "./route.ts";
import { clickhouseShadowResults } from "./semantic/clickhouse-results.ts";
import { LiveThresholds } from "./semantic/live.ts";
import { RouterMetrics } from "./metrics.ts";
import { loadPolicy, type RouterPolicy } from "./policy.ts";
import { createRouterProcess } from "./process.ts";
import { clickhouseShadowWriter } from "./shadow/clickhouse.ts";
import { createShadowProcess } from "./shadow/process.ts";
import { FallbackView, redisRouteStore, routeId, type RouteStore } from "./store.ts";
import { DistillSwitchView, redisDistillSwitchStore } from "./distilled.ts";
import type { ChatPort } from "./strategies/llm.ts";
import type { TextEmbedder } from "@costwise/judging";
import { BackoffView, redisBackoffStore } from "@costwise/outcomes";

export interface RouterService extends RunningService {
  readonly policy: RouterPolicy;
  readonly store: RouteStore;
  readonly fallbacks: FallbackView;
  /** Routes backed off after a quality regression measured on outcomes. */
  readonly backoffs: BackoffView;
  /** The shadow consumer, when enabled. */
  readonly shadow: RunningService | null;
}

export interface StartRouterOptions {
  readonly logger?: Logger;
  readonly catalog?: PriceCatalog;
  /** Replace the provider layer (tests count calls); default: @costwise/providers from the config. */
  readonly chat?: ChatPort;
  readonly now?: () => number;
  /** Use this compiled policy instead of loading ROUTER_POLICY_FILE. */
  readonly policy?: RouterPolicy;
  /** Replace the local sentence model (tests); its name must match the semantic models'. */
  readonly embedder?: Embedder;
  /** The shadow's "embedding" judge model; default: the local sentence model, loaded when a route uses that judge. */
  readonly shadowEmbedder?: TextEmbedder | null;
}

/**
 * The router's own embedder, created on first use: most requests of a semantic use case carry
 * the cache's vector, so the model loads only if one does not.
 */
function lazyEmbedder(config: RouterConfig, given: Embedder | undefined): RouteEmbedder {
  let inner: Promise<Embedder & { embedOne(text: string): Promise<{ vector: Float32Array; costNanoUsd: number }> }> | null = null;
  return {
    name: given?.name ?? ROUTER_EMBEDDING_NAME,
    embed: async (text) => {
      inner ??= (given ? Promise.resolve(given) : threadedEmbedder({ modelDir: config.ROUTER_EMBEDDING_MODEL_DIR, threads: config.ROUTER_EMBEDDING_THREADS, name: ROUTER_EMBEDDING_NAME })).then((e) => batchingEmbedder(e));
      inner.catch(() => (inner = null));
      return (await inner).embedOne(text);
    },
  };
}

/**
 * The router process: the routing loop (llm.requests.uncached → llm.requests.routed) and, unless
 * disabled, the shadow consumer of llm.responses, each with its own consumer group and ops port.
 * The policy is loaded and validated first: a bad policy throws PolicyError before anything connects.
 */
export async function startRouter(config: RouterConfig, opts: StartRouterOptions = {}): Promise<RouterService> {
  const logger = opts.logger ?? createLogger({ service: "router", level: config.LOG_LEVEL });
  const catalog = opts.catalog ?? defaultCatalog;
  const now = opts.now ?? Date.now;
  const embedder = lazyEmbedder(config, opts.embedder);
  const policy = opts.policy ?? loadPolicy(config.ROUTER_POLICY_FILE, { catalog, embeddingModel: embedder.name });
  logger.info({ policy: policy.source, useCases: [...policy.useCases.keys()] }, "routing policy loaded");
  for (const w of policy.warnings) logger.warn({ policy: policy.source }, w);

  const providers = opts.chat ? null : createProviders(config, { catalog, logger });
  const chat: ChatPort = opts.chat ?? providers!;
  let warnedAt = 0;
  const store = redisRouteStore(config.REDIS_URL, {
    prefix: config.ROUTER_REDIS_PREFIX,
    timeoutMs: config.ROUTER_REDIS_TIMEOUT_MS,
    onError: (err) => {
      if (now() - warnedAt > 10_000) {
        warnedAt = now();
        logger.warn({ err: errorMessage(err) }, "redis unavailable: shadow sampling paused, fallback states frozen");
      }
    },
  });
  const streamMetrics = new StreamMetrics("router");
  const metrics = new RouterMetrics(streamMetrics.registry);
  const fallbacks = new FallbackView(store, {
    refreshMs: config.ROUTER_FALLBACK_REFRESH_MS,
    onError: (err) => logger.debug({ err: errorMessage(err) }, "fallback states not refreshed"),
    onRefresh: (states) => {
      metrics.fallbackActive.reset();
      for (const [uc, spec] of policy.useCases) for (const t of spec.tiers.slice(0, -1)) metrics.fallbackActive.set({ use_case: uc, tier: t.name }, states.has(routeId({ useCase: uc, tier: t.name })) ? 1 : 0);
    },
  });
  await fallbacks.start();
  // A quality regression on outcomes backs a cheap route off like a shadow-measured one; the shadow
  // window never lifts it (it lifts when the regression checker stops renewing it).
  const backoffStore = redisBackoffStore(config.REDIS_URL, { key: config.OUTCOME_BACKOFF_KEY, timeoutMs: config.ROUTER_REDIS_TIMEOUT_MS, onError: (err) => logger.debug({ err: errorMessage(err) }, "backoffs not read") });
  const backoffs = new BackoffView(backoffStore, { refreshMs: config.ROUTER_FALLBACK_REFRESH_MS, now, onError: (err) => logger.debug({ err: errorMessage(err) }, "backoffs not refreshed") });
  await backoffs.start();
  const switchStore = redisDistillSwitchStore(config.REDIS_URL, { key: config.ROUTER_DISTILL_SWITCH_KEY, timeoutMs: config.ROUTER_REDIS_TIMEOUT_MS, onError: (err) => logger.debug({ err: errorMessage(err) }, "distill switches not read") });
  const distilled = new DistillSwitchView(switchStore, { refreshMs: config.ROUTER_DISTILL_REFRESH_MS, onError: (err) => logger.debug({ err: errorMessage(err) }, "distill switches not refreshed") });
  await distilled.start();

  const semantic = [...policy.useCases.values()].some((u) => u.semantic !== null);
  const calibrationCh = semantic && config.ROUTER_CALIBRATION_REFRESH_MS > 0 ? createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, request_timeout: 10_000 }) : null;
  const thresholds = calibrationCh
    ? new LiveThresholds(policy, clickhouseShadowResults(calibrationCh, config.CLICKHOUSE_DATABASE), {
        refreshMs: config.ROUTER_CALIBRATION_REFRESH_MS,
        onChange: (uc, next, previous) => logger.info({ use_case: uc, threshold: next.threshold, previous, achieved: next.achieved, lower: next.lower, samples: next.samples, source: next.source }, "semantic threshold re-calibrated"),
        onError: (err) => logger.debug({ err: errorMessage(err) }, "shadow results not read: keeping the current thresholds"),
      })
    : null;
  await thresholds?.start();

  const closeShared = [
    ...(thresholds ? [{ name: "live-thresholds", close: async () => { thresholds.close(); await calibrationCh!.close(); } }] : []),
    { name: "fallback-view", close: () => fallbacks.close() },
    { name: "backoff-view", close: async () => { backoffs.close(); await backoffStore.close(); } },
    { name: "distill-switches", close: async () => { distilled.close(); await switchStore.close(); } },
    ...(providers ? [{ name: "providers", close: () => providers.close() }] : []),
    { name: "redis", close: () => store.close() },
  ];
  let shadow: RunningService | null = null;
  let routing: RunningService;
  try {
    if (config.ROUTER_SHADOW_ENABLED) {
      const ch = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, request_timeout: 30_000 });
      const shadowMetrics = new StreamMetrics("router-shadow");
      const shadowRouterMetrics = new RouterMetrics(shadowMetrics.registry);
      let shadowEmbedder = opts.shadowEmbedder ?? null;
      if (opts.shadowEmbedder === undefined && [...policy.useCases.values()].some((u) => u.shadow.sampleRate > 0 && u.shadow.judge === "embedding")) {
        // Off the event loop, and behind the request path for the CPU: a judged batch of long answers
        // would otherwise stall the routing loop this process shares, and judging at 200 req/s
        // keeps a core busy; a judgement may lag, a route should not.
        const local = batchingEmbedder(await threadedEmbedder({ modelDir: config.ROUTER_SHADOW_EMBEDDING_MODEL_DIR, threads: 1, background: true }));
        closeShared.push({ name: "shadow-embedder", close: () => local.close?.() });
        shadowEmbedder = local;
      }
      shadow = await startService<LlmResponse | LlmOutcome>({
        name: "router-shadow",
        // Outcomes of cheap-route answers count in the route's window like shadow comparisons.
        input: [topics.responses, topics.outcomes],
        outputs: [],
        processBatch: createShadowProcess({ policy, store, chat, catalog, writer: clickhouseShadowWriter(ch, config.CLICKHOUSE_DATABASE), embedder: shadowEmbedder, now, concurrency: config.ROUTER_SHADOW_CONCURRENCY, metrics: shadowRouterMetrics, outcomeMemorySeconds: config.ROUTER_OUTCOME_MEMORY_S }),
        config: { ...config, GROUP_ID: `${config.GROUP_ID ?? "costwise-router"}-shadow`, METRICS_PORT: config.ROUTER_SHADOW_METRICS_PORT },
        logger: logger.child({ loop: "shadow" }),
        metrics: shadowMetrics,
        resources: [{ name: "clickhouse", close: () => ch.close() }],
      });
    }
    routing = await startService<LlmRequest>({
      name: "router",
      input: topics.uncached,
      outputs: [topics.routed],
      process: createRouterProcess({ policy, catalog, llm: chat, store, now, metrics, renderMessages, fallback: (uc, tier) => fallbacks.get(uc, tier) ?? backoffs.routeFallback(uc, tier), distilled: (tenant, uc) => distilled.get(tenant, uc), embedder, semanticThreshold: (uc) => thresholds?.get(uc) ?? null }),
      config,
      logger,
      metrics: streamMetrics,
    });
  } catch (err) {
    await shadow?.stop().catch(() => undefined);
    for (const r of closeShared) await Promise.resolve(r.close()).catch(() => undefined);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    name: "router",
    opsUrl: routing.opsUrl,
    metrics: routing.metrics,
    policy,
    store,
    fallbacks,
    backoffs,
    shadow,
    ready: () => routing.ready() && (shadow?.ready() ?? true),
    stop: () =>
      (stopping ??= (async () => {
        await routing.stop();
        await shadow?.stop();
        for (const r of closeShared) await Promise.resolve(r.close()).catch((err: unknown) => logger.warn({ resource: r.name, err: errorMessage(err) }, "close failed"));
      })()),
  };
}
