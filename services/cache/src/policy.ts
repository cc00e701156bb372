import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError } from "@costwise/stream-runtime";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { SALIENT_KINDS } from "./guard.ts";

/** The policy file shipped with the service (used when CACHE_POLICY_FILE is unset). */
export const DEFAULT_POLICY_FILE = fileURLToPath(new URL("../config/policy.yaml", import.meta.url));

const queryPattern = z
  .string()
  .min(1)
  .superRefine((src, ctx) => {
    let re: RegExp;
    try {
      re = new RegExp(src, "u");
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a valid regular expression: ${(err as Error).message}` });
      return;
    }
    // A capture group is what separates the query (embedded, compared) from the template (part of the scope).
    if (new RegExp(`${re.source}|`, "u").exec("")!.length < 2) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: "needs a capture group around the part of the message that is the query" });
    }
  });

/** One use case's caching rules. Every field but `mode` has a default, so a policy can be one line. */
export const useCasePolicySchema = z
  .object({
    /** off: never cached. exact: identical canonical requests. semantic: exact first, then the nearest earlier query in the same scope. */
    mode: z.enum(["off", "exact", "semantic"]),
    /**
     * δ: the rate of wrong answers among semantic hits this use case accepts, in (0, 0.2]. The cache
     * learns per tenant, use case and embedding model, and per entry, how similar a neighbour must be
     * for that bound to hold (see decision.ts), rather than trusting one similarity for all traffic.
     */
    max_wrong_rate: z.number().gt(0, "max_wrong_rate must be above 0").max(0.2, "max_wrong_rate above 0.2 (20% wrong answers) is not a cache anyone wants").optional(),
    /** One-sided confidence of the upper bound the wrong rate is held to. */
    confidence: z.number().min(0.5).max(0.999).default(0.9),
    /** Share of would-be semantic hits answered by the model anyway and judged against the cached answer (charged as cache overhead). */
    explore_rate: z.number().min(0).max(0.5).default(0.1),
    /**
     * A fixed cosine similarity instead of a learned boundary: no error bound at all (its wrong rate
     * depends on the traffic), kept for pinned set-ups, tests and as the evaluation's baseline. The
     * service logs a warning at start for every use case that uses it.
     */
    threshold: z.number().gt(0).max(1).optional(),
    ttl_seconds: z.number().int().positive().max(365 * 24 * 3600).default(3600),
    /** Failed outcomes (distinct requests, on llm.outcomes) after which an entry is invalidated. */
    max_failed_outcomes: z.number().int().positive().default(3),
    /** How long a served hit is remembered for its outcome (outcomes may come days later). */
    outcome_memory_seconds: z.number().int().positive().max(30 * 24 * 3600).default(7 * 24 * 3600),
    /** full: the key and scope cover every earlier turn. last_turn: only the system prompt and the last user message count. */
    conversation: z.enum(["full", "last_turn"]).default("full"),
    /** key: the context chunks' fingerprint is part of the key and scope. ignore: context never changes the answer (rare; say why in the file). */
    context: z.enum(["key", "ignore"]).default("key"),
    /** Serve and store requests whose temperature is unset (provider default) or above 0. */
    allow_sampling: z.boolean().default(false),
    /** Serve and store requests that carry tool messages. */
    allow_tools: z.boolean().default(false),
    /** Store and serve answers that call tools (a replayed tool call runs the tool again); off by default. */
    cache_tool_calls: z.boolean().default(false),
    /** Salient-detail kinds that must agree between a query and a semantic candidate; [] turns the guard off. */
    guard: z.array(z.enum(SALIENT_KINDS)).default([...SALIENT_KINDS]),
    /** A regex over the last user message whose first group is the query; the rest of the message is a template and part of the scope. */
    query_pattern: queryPattern.optional(),
    /** Tags whose values change the answer (e.g. a pinned model tier): they join the key and the scope. */
    key_tags: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.mode === "semantic" && p.threshold === undefined && p.max_wrong_rate === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["max_wrong_rate"], message: "semantic mode needs max_wrong_rate (the accepted rate of wrong hits, e.g. 0.01)" });
    }
    if (p.threshold !== undefined && p.max_wrong_rate !== undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["threshold"], message: "give max_wrong_rate or a fixed threshold, not both" });
    }
  });

export type UseCasePolicy = z.infer<typeof useCasePolicySchema>;

/** What use cases with no policy get: exact caching of temperature-0 requests, no semantic caching. */
export const FALLBACK_POLICY: UseCasePolicy = useCasePolicySchema.parse({ mode: "exact" });

export const policyFileSchema = z
  .object({
    version: z.literal(1),
    default: useCasePolicySchema.optional(),
    use_cases: z.record(z.string().min(1), useCasePolicySchema).default({}),
  })
  .strict();

export interface CachePolicies {
  readonly default: UseCasePolicy;
  readonly useCases: Readonly<Record<string, UseCasePolicy>>;
}

export class PolicyError extends ConfigError {}

/** Validate a parsed policy document; the error lists every problem with its path. */
export function parsePolicies(doc: unknown, source = "policy"): CachePolicies {
  const parsed = policyFileSchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new PolicyError(`invalid cache policy in ${source}:\n${lines.join("\n")}`);
  }
  return { default: parsed.data.default ?? FALLBACK_POLICY, useCases: parsed.data.use_cases };
}

/** Read and validate a policy file (YAML or JSON: JSON is YAML). */
export function loadPolicies(file: string = DEFAULT_POLICY_FILE): CachePolicies {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new PolicyError(`cannot read cache policy file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PolicyError(`cache policy file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  return parsePolicies(doc, file);
}

/** Use cases whose semantic hits follow a fixed similarity, with no error bound (warned about at start). */
export function staticThresholdUseCases(policies: CachePolicies): string[] {
  const all = { "(default)": policies.default, ...policies.useCases };
  return Object.entries(all).filter(([, p]) => p.mode === "semantic" && p.threshold !== undefined).map(([name]) => name);
}

export function policyFor(policies: CachePolicies, useCase: string): UseCasePolicy {
  return policies.useCases[useCase] ?? policies.default;
}
