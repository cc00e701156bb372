export { startCompression } from "./service.ts";
export { compressionConfigSchema, loadCompressionConfig, DEFAULT_POLICY_FILE, type CompressionConfig } from "./config.ts";
export { createProcess, questionOf, type CompressionDeps } from "./process.ts";
export { createCompressor, type Compressor, type CompressInput, type CompressOutcome } from "./compressor.ts";
export { dispatchTopic, DEFAULT_DISPATCH_POLICY, type DispatchPolicy, type DispatchTopic } from "./dispatch.ts";
export { parsePolicy, loadPolicyFile, policyFor, type CompressionPolicy, type UseCasePolicy, type StrategyConfig, type StrategyName } from "./policy.ts";
export { createStrategy, checkPolicy, type StrategyDeps, type Strategy } from "./strategies/index.ts";
