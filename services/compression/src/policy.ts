import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "@costwise/stream-runtime";

const unit = z.number().gt(0).max(1);

export const tightenSchema = z
  .object({
    name: z.literal("tighten"),
    /** "retriever": the chunk's own score; "query": BM25 of the chunk against the question, scaled to [0, 1]. */
    rank_by: z.enum(["retriever", "query"]).default("retriever"),
    /** Chunks whose rank score is below this are dropped (the relevance floor). */
    min_score: z.number().optional(),
    top_k: z.number().int().positive().optional(),
    /** Word-trigram Jaccard at or above which a lower-ranked chunk is a near-duplicate and dropped. */
    dedupe_threshold: unit.default(0.85),
    /** When set, top-k is chosen by maximal marginal relevance: λ·relevance − (1−λ)·max similarity to chunks already kept. */
    mmr_lambda: z.number().min(0).max(1).optional(),
  })
  .strict();

export const boilerplateSchema = z
  .object({
    name: z.literal("boilerplate"),
    /** Remove HTML tags and decode the common entities before anything else. */
    strip_html: z.boolean().default(false),
    /** Learn recurring segments from traffic (Redis) and remove them. */
    learn: z.boolean().default(true),
    /** A segment seen in at least this (decayed) share of the use case's recent requests is boilerplate. */
    min_share: unit.default(0.5),
    /** No segment is removed before this many (decayed) requests of the use case were seen. */
    min_requests: z.number().positive().default(20),
    /** Share of requests whose segments are recorded (bounds Redis memory at high volume). */
    sample_rate: unit.default(1),
    /** Shorter segments are never learnt or removed. */
    min_segment_chars: z.number().int().min(1).default(12),
  })
  .strict();

export const extractiveSchema = z
  .object({
    name: z.literal("extractive"),
    /** Weight of the whole chunk's relevance added to each of its sentences'. */
    chunk_weight: z.number().min(0).default(0.5),
    /** Weight of the best neighbouring sentence's relevance (answers often sit next to the matching sentence). */
    neighbour_weight: z.number().min(0).default(0.25),
  })
  .strict();

export const summariseSchema = z
  .object({
    name: z.literal("summarise"),
    model: z.string().min(1).default("gpt-4o-mini"),
    /** Only chunks at least this long are summarised. */
    min_chunk_tokens: z.number().int().positive().default(300),
    /** Summary length asked for, as a share of the chunk's tokens … */
    target_ratio: z.number().gt(0).lt(1).default(0.35),
    /** … and at most this many tokens. */
    max_summary_tokens: z.number().int().positive().default(200),
  })
  .strict();

export const externalSchema = z
  .object({
    name: z.literal("external"),
    /** Share of tokens to keep, LLMLingua-2's `rate`. */
    rate: z.number().gt(0).lt(1).default(0.5),
    force_tokens: z.array(z.string()).default(["\n", ".", "?", "!"]),
    /** Overrides COMPRESSION_EXTERNAL_TIMEOUT_MS for this use case. */
    timeout_ms: z.number().int().positive().optional(),
  })
  .strict();

export const strategySchema = z.discriminatedUnion("name", [tightenSchema, boilerplateSchema, extractiveSchema, summariseSchema, externalSchema]);
export type StrategyConfig = z.infer<typeof strategySchema>;
export type StrategyName = StrategyConfig["name"];

export const useCasePolicySchema = z
  .object({
    /** Contexts at or below this many tokens are left alone, and no strategy takes one below it. */
    floor_tokens: z.number().int().min(0).default(100),
    budget: z
      .object({
        max_context_tokens: z.number().int().positive().optional(),
        /** Keep at most this share of the context's tokens. */
        target_ratio: unit.optional(),
      })
      .strict()
      .default({}),
    /** Applied in this order. */
    strategies: z.array(strategySchema).default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    const names = p.strategies.map((s) => s.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["strategies"], message: `strategy "${dup}" appears twice` });
    if (names.includes("extractive") && p.budget.max_context_tokens === undefined && p.budget.target_ratio === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["budget"], message: "extractive needs a budget: max_context_tokens or target_ratio" });
    }
  });
export type UseCasePolicy = z.infer<typeof useCasePolicySchema>;

export const policyFileSchema = z
  .object({
    version: z.literal(1),
    /** For use cases not listed. */
    default: useCasePolicySchema.default({}),
    use_cases: z.record(z.string().min(1), useCasePolicySchema).default({}),
  })
  .strict();
export type CompressionPolicy = z.infer<typeof policyFileSchema>;

export function parsePolicy(raw: unknown, source = "policy"): CompressionPolicy {
  const parsed = policyFileSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`invalid compression policy ${source}:\n${lines.join("\n")}`);
  }
  return parsed.data;
}

/** Read and validate a YAML (or JSON, which is YAML) policy file. */
export function loadPolicyFile(path: string): CompressionPolicy {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read compression policy ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`compression policy ${path} is not valid YAML: ${(err as Error).message}`);
  }
  return parsePolicy(raw, path);
}

export function policyFor(policy: CompressionPolicy, useCase: string): UseCasePolicy {
  return policy.use_cases[useCase] ?? policy.default;
}

/** The budget of one context of `beforeTokens`: the tightest of the policy's limits, never below the floor. */
export function budgetOf(p: UseCasePolicy, beforeTokens: number, roomTokens = Number.POSITIVE_INFINITY): { targetTokens: number; floorTokens: number } {
  let target = Math.min(beforeTokens, roomTokens);
  if (p.budget.max_context_tokens !== undefined) target = Math.min(target, p.budget.max_context_tokens);
  if (p.budget.target_ratio !== undefined) target = Math.min(target, Math.floor(beforeTokens * p.budget.target_ratio));
  return { targetTokens: Math.max(p.floor_tokens, target), floorTokens: p.floor_tokens };
}
