export { createProcess, questionOf, type CompressionDeps } from "./process.ts";
export { createCompressor, type Compressor, type CompressInput, type CompressOutcome } from "./compressor.ts";
export { dispatchTopic, DEFAULT_DISPATCH_POLICY, type DispatchPolicy, type DispatchTopic } from "./dispatch.ts";
export { compressionConfigSchema, loadCompressionConfig, DEFAULT_POLICY_FILE, type CompressionConfig } from "./config.ts";
export { startCompression } from "./service.ts";
export {
  parsePolicy, loadPolicyFile, policyFor, budgetOf, policyFileSchema, useCasePolicySchema, strategySchema,
  type CompressionPolicy, type UseCasePolicy, type StrategyConfig, type StrategyName,
} from "./policy.ts";
export { createStrategy, checkPolicy, type StrategyDeps, type Strategy, type StepInput, type StepResult, type Budget } from "./strategies/index.ts";
export { tightenChunks } from "./strategies/tighten.ts";
export { extractChunks } from "./strategies/extractive.ts";
export { removeBoilerplate, normaliseText, stripHtml, segmentKey } from "./strategies/boilerplate.ts";
export { summariseChunks, summaryMaxTokens, SUMMARY_INSTRUCTIONS, type SummariserChat } from "./strategies/summarise.ts";
export { compressExternally, httpExternalCompressor, ExternalCompressorError, type ExternalCompressor } from "./strategies/external.ts";
export { redisBoilerplateStore, memoryBoilerplateStore, combineBuckets, DEFAULT_DECAY, type BoilerplateStore, type SegmentStats, type DecayOptions } from "./boilerplate-store.ts";
export { tokenMeter, type TokenMeter } from "./tokens.ts";
export { splitSentences, terms, type Sentence } from "./text.ts";
export { bm25Scores } from "./relevance.ts";
export { CompressionMetrics } from "./metrics.ts";
