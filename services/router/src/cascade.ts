import type { PriceCatalog } from "@costwise/pricing";
import { checkCascadeAnswer, type CascadeAnswer, type CascadeCheck } from "@costwise/route-state";
import { emptyPipelineState, type LlmRequest, type PipelineState, type RouteDecision } from "@costwise/schemas";
import type { CascadePolicy, RouterPolicy, UseCasePolicy } from "./policy.ts";
import { frontierModelOf } from "./route.ts";
import { chargeOverhead } from "@costwise/lifecycle";

export type { CascadeAnswer, CascadeCheck } from "@costwise/route-state";

/** The escalation check of a cascade (pure), as the executor runs it from the route's plan. */
export function cascadeCheck(answer: CascadeAnswer, policy: CascadePolicy): CascadeCheck {
  return checkCascadeAnswer(answer, policy.checks);
}

/** Executor side: should the cheap answer stand? `policy` is the request's use case policy. */
export function cascadeDecision(answer: CascadeAnswer, policy: Pick<UseCasePolicy, "cascade">): { escalate: boolean; reasons: readonly string[] } {
  const check = cascadeCheck(answer, policy.cascade);
  return { escalate: !check.pass, reasons: check.failures };
}

/**
 * The route after escalation: the use case's last tier and the frontier model the router would
 * have used (the caller's model, or the tier's model for its provider), with the reasons appended.
 * null when the request was not routed by a cascade policy or has no frontier model.
 */
export function escalatedRoute(request: LlmRequest, policy: RouterPolicy, catalog: PriceCatalog, reasons: readonly string[]): RouteDecision | null {
  const route = request.pipeline?.route;
  const uc = policy.useCases.get(request.use_case);
  if (!route || route.strategy !== "cascade" || !uc) return null;
  const frontier = frontierModelOf(request, uc, catalog);
  if (!frontier) return null;
  return { ...route, tier: uc.tiers[uc.tiers.length - 1]!.name, model: frontier.id, provider: frontier.provider, reason: `${route.reason}; escalated from ${route.model}: ${reasons.join("; ")}`, cascade: null };
}

/** Add a cost to a pipeline's overhead under `source` ("router" for a failed cascade attempt: it is charged to routing). */
export function addOverhead(pipeline: PipelineState | null, source: string, nanoUsd: number): PipelineState {
  return chargeOverhead(pipeline ?? emptyPipelineState(), source, nanoUsd);
}

/** Is this request one the executor must cascade (answer cheap first, then check)? */
export function isCascade(request: LlmRequest): boolean {
  return request.pipeline?.route?.strategy === "cascade";
}

