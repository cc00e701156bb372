import { catalog } from "@costwise/pricing";
import { countChatTokens, createProviders } from "@costwise/providers";
import { topics } from "@costwise/schemas";
import { createLogger, runMain, startService } from "@costwise/stream-runtime";
import { loadExecutorConfig } from "./config.ts";
import { createProcess } from "./process.ts";

runMain("executor", async () => {
  const config = loadExecutorConfig();
  const logger = createLogger({ service: "executor", level: config.LOG_LEVEL });
  const providers = createProviders(config, { catalog, logger });
  return startService({
    name: "executor",
    input: topics.requests,
    outputs: [topics.responses, topics.costRecords],
    process: createProcess({ providers, catalog, countTokens: countChatTokens, defaultModel: config.EXECUTOR_DEFAULT_MODEL, now: Date.now }),
    config,
    logger,
    resources: [{ name: "providers", close: () => providers.close() }],
  });
});
