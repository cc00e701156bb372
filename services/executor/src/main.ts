import { catalog as priceCatalog, withUnpricedPolicy } from "@costwise/pricing";
import { countChatTokens, createProviders } from "@costwise/providers";
import { cascadeEscalation } from "@costwise/route-state";
import { topics } from "@costwise/schemas";
import { createLogger, runMain, startService, StreamMetrics } from "@costwise/stream-runtime";
import { Counter } from "prom-client";
import { loadExecutorConfig } from "./config.ts";
import { createProcess, type CascadePort } from "./process.ts";

runMain("executor", async () => {
  const config = loadExecutorConfig();
  const logger = createLogger({ service: "executor", level: config.LOG_LEVEL });
  const catalog = withUnpricedPolicy(priceCatalog, config.UNPRICED_MODELS);
  const metrics = new StreamMetrics("executor");
  const unpriced = new Counter({ name: "costwise_unpriced_calls_total", help: "Answers from models the price catalog does not list", labelNames: ["model"], registers: [metrics.registry] });
  const providers = createProviders(config, { catalog, logger });
  // A cascade route carries its escalation target and checks (pipeline.route.cascade): the executor runs them on the cheap answer.
  const cascade: CascadePort = { escalation: (req, answer) => cascadeEscalation(req, answer) };
  return startService({
    name: "executor",
    input: topics.ready,
    outputs: [topics.responses, topics.costRecords],
    process: createProcess({ providers, catalog, countTokens: countChatTokens, defaultModel: config.COSTWISE_DEFAULT_MODEL, now: Date.now, cascade, onUnpriced: (model) => unpriced.inc({ model }), promptCacheAlways: new Set(config.PROMPT_CACHE_ALWAYS_USE_CASES) }),
    config,
    logger,
    metrics,
    resources: [{ name: "providers", close: () => providers.close() }],
  });
});
