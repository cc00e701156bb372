import { Redis } from "ioredis";
import { catalog } from "@costwise/pricing";
import { countChatTokens } from "@costwise/providers";
import { topics, type LlmResponse } from "@costwise/schemas";
import { createLogger, output, runMain, skip, startOutputProducer, startService, StreamMetrics } from "@costwise/stream-runtime";
import { createGateway } from "./app.ts";
import { coalesce } from "./coalesce.ts";
import { loadGatewayConfig } from "./config.ts";
import { KeyRing } from "./keys.ts";
import { GatewayMetrics } from "./metrics.ts";
import { RateLimiter } from "./rate-limit.ts";
import { ReplyHub } from "./replies.ts";
import { redisStore } from "./store.ts";

runMain("gateway", async () => {
  const config = loadGatewayConfig();
  const logger = createLogger({ service: "gateway", level: config.LOG_LEVEL });
  const keys = KeyRing.load(config.GATEWAY_KEYS_FILE);
  const hub = new ReplyHub(config.GATEWAY_REPLICA_ID);
  const metrics = new StreamMetrics("gateway");
  const gatewayMetrics = new GatewayMetrics(metrics.registry, () => hub.waiting);

  const redis = new Redis(config.REDIS_URL, {
    commandTimeout: config.GATEWAY_REDIS_TIMEOUT_MS, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 2_000, lazyConnect: true,
    retryStrategy: (attempt) => Math.min(200 * attempt, 2_000),
  });
  await redis.connect();
  const store = redisStore(redis, { prefix: config.GATEWAY_REDIS_PREFIX, resultTtlS: config.GATEWAY_RESULT_TTL_S, idempotencyTtlS: config.GATEWAY_IDEMPOTENCY_TTL_S });
  const producer = await startOutputProducer({ name: "gateway", config, topics: [topics.requests], logger, metrics });

  // This replica's answers: its own group over llm.responses, other replicas' keys passed over undecoded.
  const replies = await startService<LlmResponse>({
    name: "gateway",
    input: topics.responses,
    outputs: [],
    config: { ...config, GROUP_ID: config.GROUP_ID ?? `costwise-gateway-${config.GATEWAY_REPLICA_ID}` },
    acceptKey: (key) => hub.ownsKey(key),
    startAt: "end",
    process: async (resp) => {
      const { delivered, store: keep } = hub.deliver(resp);
      if (keep) {
        await store.putResult(resp);
        gatewayMetrics.stored.inc();
      }
      return skip(delivered > 0 ? "delivered" : "stored");
    },
    logger,
    metrics,
    resources: [
      { name: "redis", close: () => void redis.disconnect() },
      { name: "producer", close: () => producer.close() },
    ],
  });
  for (const deadline = Date.now() + 60_000; !replies.ready(); ) {
    if (Date.now() > deadline) throw new Error("the reply consumer did not join its group within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }

  const gateway = createGateway({
    keys, hub, store, catalog, logger, metrics: gatewayMetrics,
    limiter: new RateLimiter({ ratePerMinute: config.GATEWAY_RATE_PER_MINUTE, burst: config.GATEWAY_BURST }),
    produce: coalesce((requests) => producer.send(requests.map((r) => output(topics.requests, r)))),
    countTokens: countChatTokens,
    settings: {
      bodyLimitBytes: config.GATEWAY_BODY_LIMIT_BYTES, requestTimeoutMs: config.GATEWAY_REQUEST_TIMEOUT_MS,
      produceTimeoutMs: config.GATEWAY_PRODUCE_TIMEOUT_MS, drainMs: config.GATEWAY_DRAIN_MS, publicUrl: config.GATEWAY_PUBLIC_URL,
    },
  });
  const url = await gateway.app.listen({ host: config.GATEWAY_HOST, port: config.GATEWAY_PORT });
  logger.info({ url, replica: config.GATEWAY_REPLICA_ID, keys: keys.size }, "gateway listening");

  return {
    ...replies,
    // HTTP first (calls in flight finish or get a retryable 503), then the reply consumer and the rest.
    stop: async () => {
      await gateway.drain();
      await replies.stop();
    },
  };
});
