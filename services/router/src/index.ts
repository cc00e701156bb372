// The router's public surface: the service, its policy, the pure decision and what other packages
// use (the judge and chat port for the distiller). Shared routing state (stores, switches, request
// hashing, the cascade check) is in @costwise/route-state; features, training and evaluation code
// are imported by path from the tools.
export { startRouter, type RouterService, type StartRouterOptions } from "./service.ts";
export { routerConfigSchema, loadRouterConfig, DEFAULT_POLICY_FILE, ROUTER_EMBEDDING_NAME, type RouterConfig } from "./config.ts";
export {
  loadPolicy, parsePolicy, compilePolicy, policyFileSchema, STRATEGIES, JUDGES,
  type RouterPolicy, type UseCasePolicy, type Tier, type ShadowPolicy, type QualityPolicy, type CascadePolicy, type SemanticRoute,
  type Strategy, type JudgeMethod, type PolicyFile, type PolicyDeps,
} from "./policy.ts";
export { decideRoute, frontierModelOf, type RouteDeps, type RouteOutcome, type RouteKind, type RouteEmbedder, type FallbackInfo, type ShadowEntry } from "./route.ts";
export { createRouterProcess, type RouterProcessDeps } from "./process.ts";
export { cascadeCheck, cascadeDecision, escalatedRoute, addOverhead, isCascade, type CascadeAnswer, type CascadeCheck } from "./cascade.ts";
export { createShadowProcess, type ShadowDeps } from "./shadow/process.ts";
export { loadSemanticModel, semanticScore, type SemanticModel, type Calibration, type CalibrationPoint } from "./semantic/model.ts";
export { chooseThreshold, recalibrate, type QualityTarget, type ShadowOutcome, type LiveCalibration } from "./semantic/calibration.ts";
export type { ShadowResults } from "./semantic/shadow-port.ts";
export { routeInputOf, type RouteInput } from "./input.ts";
export type { ChatPort } from "./strategies/llm.ts";
export { PolicyError, ClassifierModelError, DatasetError } from "./errors.ts";
