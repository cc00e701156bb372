import { catalog } from "@costwise/pricing";
import { countChatTokens, createProviders } from "@costwise/providers";
import { cascadeEscalation } from "@costwise/route-state";
import { topics } from "@costwise/schemas";
import { createLogger, runMain, startService } from "@costwise/stream-runtime";
import { loadExecutorConfig } from "./config.ts";
import { createProcess, type CascadePort } from "./process.ts";

runMain("executor", async () => {
  const config = loadExecutorConfig();
  const logger = createLogger({ service: "executor", level: config.LOG_LEVEL });
  const providers = createProviders(config, { catalog, logger });
  // A cascade route carries its escalation target and checks (pipeline.route.cascade): the executor runs them on the cheap answer.
  const cascade: CascadePort = { escalation: (req, answer) => cascadeEscalation(req, answer) };
  return startService({
    name: "executor",
    input: topics.ready,
    outputs: [topics.responses, topics.costRecords],
    process: createProcess({ providers, catalog, countTokens: countChatTokens, defaultModel: config.COSTWISE_DEFAULT_MODEL, now: Date.now, cascade }),
    config,
    logger,
    resources: [{ name: "providers", close: () => providers.close() }],
  });
});
