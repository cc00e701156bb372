import type { PriceCatalog } from "@costwise/pricing";
import { emptyPipelineState, type LlmRequest, type PipelineState, type RouteDecision } from "@costwise/schemas";
import type { CascadePolicy, RouterPolicy, UseCasePolicy } from "./policy.ts";
import { frontierModelOf } from "./route.ts";

/** The cheap model's answer as the executor has it. */
export interface CascadeAnswer {
  readonly content: string | null;
  /** OpenAI vocabulary ("stop", "length", …), as @costwise/providers reports it. */
  readonly finishReason?: string | null;
}

export interface CascadeCheck {
  readonly pass: boolean;
  /** Why the answer failed, one line per failed check; empty when it passed. */
  readonly failures: readonly string[];
}

/** Strip a Markdown code fence around a JSON answer (models add one even when told not to). */
function unfence(text: string): string {
  const m = /^\s*```(?:json|JSON)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return m ? m[1]! : text;
}

const normaliseLabel = (s: string) => s.trim().replace(/^["'`]+|["'`.!]+$/g, "").trim().toLowerCase();

/**
 * The escalation check of a cascade, pure: is the cheap answer usable as it is? Fails on an
 * empty or cut-off answer, a self-reported uncertainty phrase, or an answer that breaks the use
 * case's format (invalid JSON or schema, a label outside the set, a required pattern missing).
 */
export function cascadeCheck(answer: CascadeAnswer, policy: CascadePolicy): CascadeCheck {
  const failures: string[] = [];
  const text = answer.content ?? "";
  if (text.trim().length < Math.max(1, policy.minChars)) failures.push(text.trim() === "" ? "empty answer" : `answer shorter than ${policy.minChars} characters`);
  if (policy.escalateOnTruncation && answer.finishReason === "length") failures.push("answer cut off at max_tokens");
  const unsure = policy.uncertainty?.exec(text);
  if (unsure) failures.push(`self-reported uncertainty: "${unsure[0].toLowerCase()}"`);
  if (text.trim() !== "") {
    if (policy.format === "json") {
      let parsed: unknown;
      let ok = true;
      try {
        parsed = JSON.parse(unfence(text));
      } catch {
        ok = false;
        failures.push("answer is not valid JSON");
      }
      if (ok && policy.validateJson && !policy.validateJson(parsed)) {
        const e = policy.validateJson.errors?.[0];
        failures.push(`JSON does not match the schema: ${e ? `${e.instancePath || "/"} ${e.message ?? ""}`.trim() : "invalid"}`);
      }
    } else if (policy.format === "label" && policy.labels) {
      const got = normaliseLabel(text);
      if (!policy.labels.some((l) => normaliseLabel(l) === got)) failures.push(`answer is not one of the ${policy.labels.length} allowed labels`);
    }
    if (policy.pattern && !policy.pattern.test(text)) failures.push(`answer does not match the required pattern /${policy.pattern.source}/`);
  }
  return { pass: failures.length === 0, failures };
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
  return { ...route, tier: uc.tiers[uc.tiers.length - 1]!.name, model: frontier.id, provider: frontier.provider, reason: `${route.reason}; escalated from ${route.model}: ${reasons.join("; ")}` };
}

/** Add a cost to a pipeline's overhead under `source` ("router" for a failed cascade attempt: it is charged to routing). */
export function addOverhead(pipeline: PipelineState | null, source: string, nanoUsd: number): PipelineState {
  const p = pipeline ?? emptyPipelineState();
  if (nanoUsd === 0) return p;
  return { ...p, overhead: { ...p.overhead, [source]: (p.overhead[source] ?? 0) + nanoUsd }, overhead_cost_nanousd: p.overhead_cost_nanousd + nanoUsd };
}

/** Is this request one the executor must cascade (answer cheap first, then check)? */
export function isCascade(request: LlmRequest): boolean {
  return request.pipeline?.route?.strategy === "cascade";
}

