export { createProcess, type ChatPort, type ExecutorDeps } from "./process.ts";
export { renderMessages, renderContext } from "@costwise/schemas";
export { validateRequest, type Rejection } from "./validate.ts";
export { executorConfigSchema, loadExecutorConfig, type ExecutorConfig } from "./config.ts";
