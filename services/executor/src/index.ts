export { createProcess, type CascadePort, type ChatPort, type ExecutorDeps } from "./process.ts";
export { executorConfigSchema, loadExecutorConfig, type ExecutorConfig } from "./config.ts";
