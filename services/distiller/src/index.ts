export { startDistiller, type DistillerService, type StartDistillerOptions } from "./service.ts";
export { createDistillerProcess, type DistillerDeps } from "./process.ts";
export { distillerConfigSchema, loadDistillerConfig, distillCliConfigSchema, loadDistillCliConfig, type DistillerConfig, type DistillCliConfig } from "./config.ts";
export { loadDistillPolicy, parseDistillPolicy, DEFAULT_DISTILL_POLICY_FILE, type DistillPolicy, type UseCaseDistillPolicy } from "./policy.ts";
export { registerDistillCommands, distillCliDepsFromEnv, type DistillCliDeps, type DistillRuntime } from "./cli.ts";
export { DistillPolicyError, DistillInputError } from "./errors.ts";
