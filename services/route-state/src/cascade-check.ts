import { Ajv, type ValidateFunction } from "ajv";
import type { CascadePlan, LlmRequest, RouteDecision } from "@costwise/schemas";

/*
 * The escalation check of a cascade, shared by the router (which puts the plan on the request's
 * route) and the executor (which runs it on the cheap answer), so the executor never loads the
 * router's policy: everything it needs travels on `pipeline.route.cascade`.
 */

/** The checks of a plan (everything but the escalation target). */
export type CascadeChecks = Omit<CascadePlan, "escalate_tier" | "escalate_model" | "escalate_provider">;

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

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** One regex for a keyword list: whole words, case-insensitive; "c++" and "step by step" work too. */
export function keywordRegex(keywords: readonly string[]): RegExp {
  const alts = keywords.map((k) => escapeRegex(k.toLowerCase()).replace(/\s+/g, "\\s+"));
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${alts.join("|")})(?![\\p{L}\\p{N}])`, "iu");
}

interface Compiled {
  readonly uncertainty: RegExp | null;
  readonly validateJson: ValidateFunction | null;
  readonly pattern: RegExp | null;
}

// Plans repeat per use case: compile each distinct one once (bounded, plans come from policies).
const compiled = new Map<string, Compiled>();
const ajv = new Ajv({ allErrors: true, strict: false });

/** Regexes and the JSON-schema validator of a plan; throws on an invalid pattern or schema (the router validates both at start-up). */
export function compileChecks(c: CascadeChecks): Compiled {
  const key = JSON.stringify([c.uncertainty_phrases, c.json_schema, c.pattern]);
  let out = compiled.get(key);
  if (!out) {
    out = {
      uncertainty: c.uncertainty_phrases.length > 0 ? keywordRegex(c.uncertainty_phrases) : null,
      validateJson: c.json_schema ? ajv.compile(JSON.parse(c.json_schema) as object) : null,
      pattern: c.pattern ? new RegExp(c.pattern, "iu") : null,
    };
    if (compiled.size > 1_000) compiled.clear();
    compiled.set(key, out);
  }
  return out;
}

/** Strip a Markdown code fence around a JSON answer (models add one even when told not to). */
function unfence(text: string): string {
  const m = /^\s*```(?:json|JSON)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return m ? m[1]! : text;
}

const normaliseLabel = (s: string) => s.trim().replace(/^["'`]+|["'`.!]+$/g, "").trim().toLowerCase();

/**
 * Is the cheap answer usable as it is? Fails on an empty or cut-off answer, a self-reported
 * uncertainty phrase, or an answer that breaks the use case's format (invalid JSON or schema, a
 * label outside the set, a required pattern missing).
 */
export function checkCascadeAnswer(answer: CascadeAnswer, checks: CascadeChecks): CascadeCheck {
  const c = compileChecks(checks);
  const failures: string[] = [];
  const text = answer.content ?? "";
  if (text.trim().length < Math.max(1, checks.min_chars)) failures.push(text.trim() === "" ? "empty answer" : `answer shorter than ${checks.min_chars} characters`);
  if (checks.escalate_on_truncation && answer.finishReason === "length") failures.push("answer cut off at max_tokens");
  const unsure = c.uncertainty?.exec(text);
  if (unsure) failures.push(`self-reported uncertainty: "${unsure[0].toLowerCase()}"`);
  if (text.trim() !== "") {
    if (checks.format === "json") {
      let parsed: unknown;
      let ok = true;
      try {
        parsed = JSON.parse(unfence(text));
      } catch {
        ok = false;
        failures.push("answer is not valid JSON");
      }
      if (ok && c.validateJson && !c.validateJson(parsed)) {
        const e = c.validateJson.errors?.[0];
        failures.push(`JSON does not match the schema: ${e ? `${e.instancePath || "/"} ${e.message ?? ""}`.trim() : "invalid"}`);
      }
    } else if (checks.format === "label" && checks.labels) {
      const got = normaliseLabel(text);
      if (!checks.labels.some((l) => normaliseLabel(l) === got)) failures.push(`answer is not one of the ${checks.labels.length} allowed labels`);
    }
    if (c.pattern && !c.pattern.test(text)) failures.push(`answer does not match the required pattern /${c.pattern.source}/`);
  }
  return { pass: failures.length === 0, failures };
}

/**
 * Executor side: the route to escalate to when the request's cascade plan rejects the cheap
 * answer, or null to keep it (no plan on the route, or the answer passed).
 */
export function cascadeEscalation(req: Pick<LlmRequest, "pipeline">, answer: CascadeAnswer): RouteDecision | null {
  const route = req.pipeline?.route;
  const plan = route?.cascade;
  if (!route || !plan) return null;
  const check = checkCascadeAnswer(answer, plan);
  if (check.pass) return null;
  return { ...route, tier: plan.escalate_tier, model: plan.escalate_model, provider: plan.escalate_provider, cascade: null, reason: `${route.reason}; escalated from ${route.model}: ${check.failures.join("; ")}` };
}
