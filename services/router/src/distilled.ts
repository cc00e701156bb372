import { costOf, findModel, type ModelPrice, type PriceCatalog, type Usage } from "@costwise/pricing";
import { DISTILLED_TIER, percentBucket, type DistilledSwitch, type ShadowEntry } from "@costwise/route-state";
import type { LlmRequest } from "@costwise/schemas";
import type { UseCasePolicy } from "./policy.ts";
import type { RouteDeps, RouteOutcome } from "./route-types.ts";

// The switch store and its view live in @costwise/route-state (the distiller writes switches too).
export { DistillSwitchView, redisDistillSwitchStore, memoryDistillSwitchStore, distilledSwitchSchema, DISTILLED_TIER, DEFAULT_DISTILL_SWITCH_KEY, type DistilledSwitch, type DistillSwitchStore } from "@costwise/route-state";

// The same reference call shape as route.ts uses for "is this tier cheaper".
const REFERENCE_USAGE: Usage = { inputTokens: 1000, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 250 };
const referenceCost = (m: ModelPrice) => costOf(m, REFERENCE_USAGE).totalNanoUsd;
const fmt = (x: number) => x.toFixed(2);

/**
 * The route of a request whose use case is switched to a distilled model, or null to route it
 * as usual (the model is not a priced chat model, or is not cheaper than the frontier model).
 * While the distilled route is in fallback the request goes to the frontier tier, still
 * shadow-sampled against the distilled model so the route can recover.
 */
export function decideDistilled(
  req: LlmRequest,
  uc: UseCasePolicy,
  sw: DistilledSwitch,
  frontier: ModelPrice,
  deps: Pick<RouteDeps, "fallback" | "renderMessages"> & { readonly catalog: PriceCatalog },
): RouteOutcome | null {
  // A ramping switch takes only its share of the use case (a stable bucket of the request id).
  if (sw.share !== undefined && percentBucket(req.request_id, "distill-share") >= sw.share) return null;
  const model = findModel(deps.catalog, sw.model);
  if (!model || model.kind !== "chat" || referenceCost(model) >= referenceCost(frontier)) return null;
  const last = uc.tiers[uc.tiers.length - 1]!;
  const fb = deps.fallback(uc.useCase, DISTILLED_TIER);
  const sampled = percentBucket(req.request_id, "shadow") < uc.shadow.sampleRate * 100;
  const shadow = (served: ModelPrice): ShadowEntry | null =>
    sampled
      ? {
          request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, created_at: req.created_at, strategy: DISTILLED_TIER, score: null,
          cheapTier: DISTILLED_TIER, frontierTier: last.name, cheapModel: model.id, frontierModel: frontier.id, servedModel: served.id,
          fallback: fb !== null, messages: deps.renderMessages(req), maxTokens: req.max_tokens, temperature: req.temperature,
        }
      : null;
  const switched = `distilled model ${model.id} (switched with shadow agreement ${fmt(sw.agreement)}, 95% lower bound ${fmt(sw.lower)}, over ${sw.samples} comparisons)`;
  if (fb) {
    const entry = shadow(frontier);
    const why = `fallback: route ${DISTILLED_TIER} agreement ${fmt(fb.agreement)} < floor ${fmt(fb.floor)} over ${fb.samples} comparisons; ${switched}`;
    return { route: { tier: last.name, model: frontier.id, provider: frontier.provider, strategy: DISTILLED_TIER, score: null, reason: why, shadow: entry !== null, cascade: null }, kind: "fallback", overheadNanoUsd: 0, shadow: entry };
  }
  const entry = shadow(model);
  return { route: { tier: DISTILLED_TIER, model: model.id, provider: model.provider, strategy: DISTILLED_TIER, score: null, reason: switched, shadow: entry !== null, cascade: null }, kind: "distilled", overheadNanoUsd: 0, shadow: entry };
}
