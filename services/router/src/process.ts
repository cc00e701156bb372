import { topics, type LlmRequest } from "@costwise/schemas";
import { emit, errorMessage, output, type ProcessFn } from "@costwise/stream-runtime";
import type { RouterMetrics } from "./metrics.ts";
import type { RouterPolicy } from "./policy.ts";
import { decideRoute, type RouteDeps } from "./route.ts";
import type { RouteStore } from "./store.ts";
import { chargeOverhead, recordStage } from "@costwise/lifecycle";

export interface RouterProcessDeps extends RouteDeps {
  readonly policy: RouterPolicy;
  readonly store: Pick<RouteStore, "rememberShadow">;
  readonly now: () => number;
  readonly metrics?: RouterMetrics;
}

/**
 * llm.requests.uncached → llm.requests.routed: decide the route, remember shadow samples for the
 * shadow consumer, and annotate the pipeline state (route, router stage time, router overhead).
 * Never rejects a request: one the router cannot route passes through on the caller's model and
 * the executor validates it.
 */
export function createRouterProcess(deps: RouterProcessDeps): ProcessFn<LlmRequest> {
  return async (req, ctx) => {
    const started = deps.now();
    const t0 = performance.now();
    const outcome = await decideRoute(req, deps.policy, deps, ctx.signal);
    let route = outcome.route;
    if (outcome.shadow && route) {
      const ttl = deps.policy.useCases.get(req.use_case)?.shadow.ttlSeconds ?? 3600;
      try {
        await deps.store.rememberShadow(outcome.shadow, ttl);
        deps.metrics?.shadowSampled.inc({ use_case: req.use_case, tier: outcome.shadow.cheapTier });
      } catch (err) {
        // A lost sample costs a comparison, not the request: route it, unshadowed.
        route = { ...route, shadow: false };
        deps.metrics?.shadowLost.inc({ reason: "store" });
        ctx.logger.warn({ request_id: req.request_id, err: errorMessage(err) }, "shadow sample not stored: routing without it");
      }
    }
    const overhead = outcome.overheadNanoUsd;
    const timed = recordStage(req, "router", deps.now() - started);
    const p = chargeOverhead(timed.pipeline!, "router", overhead);
    const pipeline = { ...p, route, ...(outcome.embedding && !p.embedding ? { embedding: outcome.embedding } : {}) };
    if (deps.metrics) {
      const strategy = route?.strategy ?? "passthrough";
      deps.metrics.decisionSeconds.observe({ strategy }, (performance.now() - t0) / 1000);
      deps.metrics.decisions.inc({ use_case: req.use_case, tier: route?.tier ?? "none", strategy, kind: outcome.kind });
      if (overhead > 0) deps.metrics.overheadNanoUsd.inc({ use_case: req.use_case }, overhead);
    }
    ctx.logger.debug({ request_id: req.request_id, use_case: req.use_case, tier: route?.tier, model: route?.model, kind: outcome.kind, reason: route?.reason }, "routed");
    return emit(output(topics.routed, { ...req, pipeline }));
  };
}
