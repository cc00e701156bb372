export { startDistiller, type DistillerService, type StartDistillerOptions } from "./service.ts";
export { createDistillerProcess, type DistillerDeps } from "./process.ts";
export { distillerConfigSchema, loadDistillerConfig, distillCliConfigSchema, loadDistillCliConfig, type DistillerConfig, type DistillCliConfig } from "./config.ts";
export {
  loadDistillPolicy, parseDistillPolicy, compileDistillPolicy, distillPolicyFileSchema, DEFAULT_DISTILL_POLICY_FILE, SCORERS,
  type DistillPolicy, type UseCaseDistillPolicy, type CapturePolicy, type RedactionPolicy, type CustomRule, type Scorer, type DistillPolicyFile,
} from "./policy.ts";
export { createRedactor, luhnValid, sumCounts, PLACEHOLDERS, type Redactor, type Redacted } from "./redact.ts";
export { planFor, buildSample, isFrontierAnswer, answerWanted, samplingOf, captureSampled, shadowSampled, promptHash, type PendingPrompt, type CaptureResult } from "./capture.ts";
export { redisJoinStore, memoryJoinStore, type JoinStore } from "./store.ts";
export { shadowCompare, DISTILL_TABLES, type DistillShadowRow, type ShadowDeps, type ShadowResult } from "./shadow.ts";
export { scoreAnswers, cosine, type SemanticEmbedder, type ScoreDeps } from "./score.ts";
export { wilsonInterval, Z95, type Interval } from "./wilson.ts";
export { fetchDistillData, buildStatus, projectSaving, readiness, perMonth, type UseCaseStatus, type Projection, type SwitchState, type DistillData, type StatusSelection, type VolumeRow } from "./status.ts";
export { fetchSamples, buildExport, summarise, toChatJsonl, toPromptCompletionJsonl, splitBucket, tokensCostNanoUsd, type ExportSet, type ExportSummary, type Example, type SampleRow, type Selection, type QueryFn } from "./export.ts";
export { checkChatExample, checkChatFile, OPENAI_MIN_EXAMPLES, type ExampleCheck } from "./finetune-format.ts";
export { fineTunePrices, fineTunePriceOf, fineTunedBase, inferencePriceOf, FINE_TUNE_PRICES_CHECKED, type FineTunePrice } from "./finetune-prices.ts";
export { switchOn, switchOff, type SwitchDeps } from "./switch.ts";
export { registerDistillCommands, distillCliDepsFromEnv, renderStatus, renderExport, parseSince, type DistillCliDeps, type DistillRuntime } from "./cli.ts";
export { DistillerMetrics } from "./metrics.ts";
export { DistillPolicyError, DistillInputError } from "./errors.ts";
