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
    /** Cosine similarity a semantic hit must reach (all-MiniLM-L6-v2 vectors, 0..1). Required for semantic mode: no silent default. */
    threshold: z.number().gt(0).max(1).optional(),
    ttl_seconds: z.number().int().positive().max(365 * 24 * 3600).default(3600),
    /** full: the key and scope cover every earlier turn. last_turn: only the system prompt and the last user message count. */
    conversation: z.enum(["full", "last_turn"]).default("full"),
    /** key: the context chunks' fingerprint is part of the key and scope. ignore: context never changes the answer (rare; say why in the file). */
    context: z.enum(["key", "ignore"]).default("key"),
    /** Serve and store requests whose temperature is unset (provider default) or above 0. */
    allow_sampling: z.boolean().default(false),
    /** Serve and store requests that carry tool messages. */
    allow_tools: z.boolean().default(false),
    /** Salient-detail kinds that must agree between a query and a semantic candidate; [] turns the guard off. */
    guard: z.array(z.enum(SALIENT_KINDS)).default([...SALIENT_KINDS]),
    /** A regex over the last user message whose first group is the query; the rest of the message is a template and part of the scope. */
    query_pattern: queryPattern.optional(),
    /** Tags whose values change the answer (e.g. a pinned model tier): they join the key and the scope. */
    key_tags: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.mode === "semantic" && p.threshold === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["threshold"], message: "semantic mode needs a threshold (cosine similarity, e.g. 0.9)" });
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

export function policyFor(policies: CachePolicies, useCase: string): UseCasePolicy {
  return policies.useCases[useCase] ?? policies.default;
}
