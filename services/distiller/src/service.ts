import { createClient } from "@clickhouse/client";
import { renderMessages, topics, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { catalog as defaultCatalog, type PriceCatalog } from "@costwise/pricing";
import { createProviders } from "@costwise/providers";
import type { ChatPort } from "@costwise/judging";
import { clickhouseWriter } from "@costwise/clickhouse-writer";
import { createLogger, errorMessage, startService, StreamMetrics, type Closeable, type Logger, type RunningService } from "@costwise/stream-runtime";
import type { DistillerConfig } from "./config.ts";
import { DistillerMetrics } from "./metrics.ts";
import { loadDistillPolicy, type DistillPolicy } from "./policy.ts";
import { createDistillerProcess } from "./process.ts";
import type { SemanticEmbedder } from "./score.ts";
import { redisJoinStore } from "./store.ts";

export interface DistillerService extends RunningService {
  readonly policy: DistillPolicy;
}

export interface StartDistillerOptions {
  readonly logger?: Logger;
  readonly catalog?: PriceCatalog;
  /** Replace the provider layer (tests count calls); default: @costwise/providers from the config. */
  readonly chat?: ChatPort;
  readonly embedder?: SemanticEmbedder | null;
  readonly now?: () => number;
}

/**
 * The distiller: one consumer group over llm.requests.ready, llm.requests.batch and
 * llm.responses, producing llm.distill-samples (landed in ClickHouse by the sink) and writing
 * shadow comparisons to distill_shadow. The policy is validated before anything connects.
 */
export async function startDistiller(config: DistillerConfig, opts: StartDistillerOptions = {}): Promise<DistillerService> {
  const logger = opts.logger ?? createLogger({ service: "distiller", level: config.LOG_LEVEL });
  const catalog = opts.catalog ?? defaultCatalog;
  const now = opts.now ?? Date.now;
  const policy = loadDistillPolicy(config.DISTILL_POLICY_FILE, catalog);
  logger.info({ policy: policy.source, useCases: [...policy.useCases.keys()] }, "distillation policy loaded");

  const resources: Closeable[] = [];
  const providers = opts.chat ? null : createProviders(config, { catalog, logger });
  if (providers) resources.push({ name: "providers", close: () => providers.close() });
  let embedder = opts.embedder ?? null;
  if (opts.embedder === undefined && [...policy.useCases.values()].some((u) => u.candidate && (u.shadow.scorer === "semantic" || u.shadow.scorer === "embedding"))) {
    // Loaded only when a use case scores by sentence embeddings: the model and onnxruntime are heavy.
    const { threadedEmbedder } = await import("@costwise/embeddings");
    embedder = await threadedEmbedder({ modelDir: config.DISTILL_EMBEDDING_MODEL_DIR, threads: 1, background: true });
  }
  let warnedAt = 0;
  const store = redisJoinStore(config.REDIS_URL, {
    prefix: config.DISTILL_REDIS_PREFIX,
    timeoutMs: config.DISTILL_REDIS_TIMEOUT_MS,
    onError: (err) => {
      if (now() - warnedAt > 10_000) {
        warnedAt = now();
        logger.warn({ err: errorMessage(err) }, "redis unavailable: capture waits (batches are retried)");
      }
    },
  });
  resources.push({ name: "redis", close: () => store.close() });
  const ch = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, request_timeout: 30_000 });
  resources.push({ name: "clickhouse", close: () => ch.close() });

  const streamMetrics = new StreamMetrics("distiller");
  try {
    const service = await startService<LlmRequest | LlmResponse>({
      name: "distiller",
      input: [topics.ready, topics.batch, topics.responses],
      outputs: [topics.distillSamples],
      processBatch: createDistillerProcess({
        policy, store, writer: clickhouseWriter(ch, config.CLICKHOUSE_DATABASE), render: renderMessages, chat: opts.chat ?? providers!, catalog, embedder, now,
        joinTtlSeconds: config.DISTILL_JOIN_TTL_SECONDS, concurrency: config.DISTILL_SHADOW_CONCURRENCY, metrics: new DistillerMetrics(streamMetrics.registry),
      }),
      config,
      logger,
      metrics: streamMetrics,
      resources,
    });
    return { ...service, policy };
  } catch (err) {
    for (const r of resources.reverse()) await Promise.resolve(r.close()).catch(() => undefined);
    throw err;
  }
}
