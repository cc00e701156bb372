import { catalog } from "@costwise/pricing";
import { countChatTokens, createProviders } from "@costwise/providers";
import { cascadeDecision, DEFAULT_POLICY_FILE, escalatedRoute, loadPolicy } from "@costwise/router";
import { topics } from "@costwise/schemas";
import { createLogger, runMain, startService } from "@costwise/stream-runtime";
import { loadExecutorConfig } from "./config.ts";
import { createProcess, type CascadePort } from "./process.ts";

runMain("executor", async () => {
  const config = loadExecutorConfig();
  const logger = createLogger({ service: "executor", level: config.LOG_LEVEL });
  const providers = createProviders(config, { catalog, logger });
  // Cascade routes are decided by the router's policy; the executor only runs the check on the cheap answer.
  const policy = loadPolicy(config.ROUTER_POLICY_FILE ?? DEFAULT_POLICY_FILE, { catalog });
  const cascade: CascadePort = {
    escalation(req, answer) {
      const useCase = policy.useCases.get(req.use_case);
      if (!useCase) return null;
      const d = cascadeDecision(answer, useCase);
      return d.escalate ? escalatedRoute(req, policy, catalog, d.reasons) : null;
    },
  };
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
