export { fnv1a32, percentBucket } from "./hash.ts";
export { redisRouteStore, memoryRouteStore, FallbackView, routeId, type RouteStore, type RouteKey, type RedisStoreOptions, type FallbackInfo, type ShadowAnswer, type ShadowEntry } from "./route-store.ts";
export {
  DistillSwitchView, redisDistillSwitchStore, memoryDistillSwitchStore, distilledSwitchSchema, DISTILLED_TIER, DEFAULT_DISTILL_SWITCH_KEY,
  type DistilledSwitch, type DistillSwitchStore,
} from "./distill-switch.ts";
export { checkCascadeAnswer, cascadeEscalation, compileChecks, keywordRegex, type CascadeAnswer, type CascadeCheck, type CascadeChecks } from "./cascade-check.ts";
export { PeriodicRefresh } from "./periodic.ts";
