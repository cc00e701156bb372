export { startRouter, type RouterService, type StartRouterOptions } from "./service.ts";
export { routerConfigSchema, loadRouterConfig, DEFAULT_POLICY_FILE, type RouterConfig } from "./config.ts";
export {
  loadPolicy, parsePolicy, compilePolicy, policyFileSchema, keywordRegex, STRATEGIES, JUDGES,
  type RouterPolicy, type UseCasePolicy, type Tier, type CompiledRule, type ShadowPolicy, type QualityPolicy, type CascadePolicy,
  type Strategy, type JudgeMethod, type PolicyFile, type PolicyDeps,
} from "./policy.ts";
export { decideRoute, frontierModelOf, tierForScore, type RouteDeps, type RouteOutcome, type RouteKind, type FallbackInfo, type ShadowEntry } from "./route.ts";
export { createRouterProcess, type RouterProcessDeps } from "./process.ts";
export { cascadeCheck, cascadeDecision, escalatedRoute, addOverhead, isCascade, type CascadeAnswer, type CascadeCheck } from "./cascade.ts";
export { createShadowProcess, type ShadowDeps } from "./shadow/process.ts";
export { clickhouseShadowWriter, type ShadowWriter } from "./shadow/clickhouse.ts";
export { SHADOW_TABLES, type ShadowRow, type FallbackEventRow } from "./shadow/rows.ts";
export { agreementRate, nextFallback, type FallbackStep } from "./quality.ts";
export { redisRouteStore, memoryRouteStore, FallbackView, routeId, type RouteStore, type RouteKey, type RedisStoreOptions } from "./store.ts";
export { RouterMetrics } from "./metrics.ts";
export { routeInputOf, routeInputFromTurns, type RouteInput } from "./input.ts";
export { extractFeatures, keywordSignals, tokenize, DENSE_FEATURES, FEATURE_VERSION, KEYWORDS, type Features } from "./features.ts";
export { loadClassifierModel, validateClassifierModel, predict, trainClassifier, classifierModelSchema, type ClassifierModel, type TrainingExample, type TrainOptions } from "./classifier.ts";
export { scoreRules, ruleMatches, type RulesResult } from "./strategies/rules.ts";
export { parseDifficulty, llmRouterMessages, LLM_ROUTER_SYSTEM, LLM_ROUTER_PROMPT_VERSION, type ChatPort } from "./strategies/llm.ts";
export { percentBucket } from "./hash.ts";
export { PolicyError, ClassifierModelError, DatasetError } from "./errors.ts";
export {
  decideDistilled, DistillSwitchView, redisDistillSwitchStore, memoryDistillSwitchStore, distilledSwitchSchema, DISTILLED_TIER, DEFAULT_DISTILL_SWITCH_KEY,
  type DistilledSwitch, type DistillSwitchStore,
} from "./distilled.ts";
