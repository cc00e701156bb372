import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import type { ModelPrice, PriceCatalog, Provider } from "@costwise/pricing";
import { findModel } from "@costwise/pricing";
import { loadClassifierModel, type ClassifierModel } from "./classifier.ts";
import { PolicyError } from "./errors.ts";

/*
 * The routing policy: one validated file (YAML or JSON) with a section per use case. Parsed once
 * at start-up into the compiled `RouterPolicy` below; anything that cannot work (unknown model,
 * bad regex, thresholds out of order, missing classifier file) stops the service with a
 * PolicyError naming the file and the path of every problem.
 */

export const STRATEGIES = ["rules", "classifier", "llm", "cascade"] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const JUDGES = ["exact", "structured", "embedding", "llm"] as const;
export type JudgeMethod = (typeof JUDGES)[number];

const name = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "use lower-case letters, digits, '-' and '_'");
const share = z.number().min(0).max(1);
const modelId = z.string().trim().min(1);

const ruleSchema = z
  .object({
    name: z.string().min(1),
    /** Any of these words or phrases (case-insensitive, whole words). */
    keywords: z.array(z.string().trim().min(1)).min(1).optional(),
    /** A JavaScript regular expression (case-insensitive). */
    pattern: z.string().min(1).optional(),
    /** Which text the keywords and pattern look at: the last user message, or every user message. */
    in: z.enum(["last", "user"]).default("user"),
    minChars: z.number().int().nonnegative().optional(),
    maxChars: z.number().int().positive().optional(),
    minTurns: z.number().int().positive().optional(),
    hasContext: z.boolean().optional(),
    tags: z.record(z.string()).optional(),
    /** Added to the score when the rule matches. */
    add: z.number().min(-1).max(1).optional(),
    /** Send to this tier when the rule matches (the first forcing rule wins). */
    tier: name.optional(),
  })
  .strict()
  .refine((r) => r.keywords || r.pattern || r.minChars !== undefined || r.maxChars !== undefined || r.minTurns !== undefined || r.hasContext !== undefined || r.tags, {
    message: "a rule needs at least one condition (keywords, pattern, minChars, maxChars, minTurns, hasContext or tags)",
  })
  .refine((r) => (r.add === undefined) !== (r.tier === undefined), { message: "a rule needs exactly one of 'add' (a score change) or 'tier' (a forced tier)" });

const tierSchema = z
  .object({
    name,
    /** Concrete model per provider, or "caller": the model the request asked for. */
    models: z.union([z.literal("caller"), z.record(z.enum(["openai", "anthropic"]), modelId)]),
    /** The tier serves requests whose score is below this; the last tier has none. */
    maxScore: z.number().gt(0).max(1).optional(),
  })
  .strict();

const shadowSchema = z
  .object({
    sampleRate: share,
    judge: z.enum(JUDGES),
    /** embedding judge: cosine similarity at or above which two answers agree. */
    similarity: share,
    /** llm judge: the model that compares the answers. */
    judgeModel: modelId.nullable(),
    /** How long a shadowed request waits for its answer before it is forgotten. */
    ttlSeconds: z.number().int().positive(),
  })
  .strict();

const qualitySchema = z
  .object({
    /** Minimum share of shadow comparisons that agree; below it the route falls back to the last tier. */
    floor: share,
    /** Comparisons kept per route (most recent first). */
    window: z.number().int().positive(),
    /** Comparisons needed before the floor is applied. */
    minSamples: z.number().int().positive(),
    /** A route in fallback recovers at floor + recoverMargin. */
    recoverMargin: share,
  })
  .strict();

const cascadeSchema = z
  .object({
    uncertaintyPhrases: z.array(z.string().trim().min(1)),
    minChars: z.number().int().nonnegative(),
    escalateOnTruncation: z.boolean(),
    format: z.enum(["text", "json", "label"]),
    labels: z.array(z.string().min(1)).nullable(),
    jsonSchema: z.record(z.unknown()).nullable(),
    /** A regular expression the answer must match (e.g. a final-answer line). */
    pattern: z.string().min(1).nullable(),
  })
  .strict();

const llmSchema = z
  .object({
    model: modelId,
    /** The request text shown to the routing model is cut to this many characters. */
    maxPromptChars: z.number().int().positive(),
    /** Score when the routing model's answer cannot be read: 1 sends to the last tier. */
    unparseableScore: share,
  })
  .strict();

const classifierSchema = z.object({ model: z.string().min(1) }).strict();

const sections = {
  rollout: z.number().min(0).max(100),
  shadow: shadowSchema,
  quality: qualitySchema,
  cascade: cascadeSchema,
  llm: llmSchema,
  classifier: classifierSchema,
};

const defaultsSchema = z
  .object({
    rollout: sections.rollout.default(100),
    shadow: shadowSchema.default({ sampleRate: 0.05, judge: "embedding", similarity: 0.75, judgeModel: null, ttlSeconds: 3600 }),
    quality: qualitySchema.default({ floor: 0.8, window: 200, minSamples: 50, recoverMargin: 0.05 }),
    cascade: cascadeSchema.default({ uncertaintyPhrases: [], minChars: 1, escalateOnTruncation: true, format: "text", labels: null, jsonSchema: null, pattern: null }),
    llm: llmSchema.default({ model: "gpt-4o-mini", maxPromptChars: 2000, unparseableScore: 1 }),
    classifier: classifierSchema.optional(),
    /** Model for passthrough requests that name none (use cases without a policy). */
    passthroughModel: modelId.optional(),
  })
  .strict();

const useCaseSchema = z
  .object({
    description: z.string().optional(),
    strategy: z.enum(STRATEGIES),
    tiers: z.array(tierSchema).min(2, "a use case needs at least two tiers (a cheap one and the frontier)"),
    /** Frontier model for requests that name no model. */
    defaultModel: modelId.optional(),
    baseScore: share.default(0),
    rules: z.array(ruleSchema).default([]),
    rollout: sections.rollout.optional(),
    shadow: shadowSchema.partial().optional(),
    quality: qualitySchema.partial().optional(),
    cascade: cascadeSchema.partial().optional(),
    llm: llmSchema.partial().optional(),
    classifier: classifierSchema.optional(),
  })
  .strict();

export const policyFileSchema = z
  .object({
    version: z.literal(1),
    defaults: defaultsSchema.default({}),
    useCases: z.record(z.string().min(1), useCaseSchema),
  })
  .strict();
export type PolicyFile = z.input<typeof policyFileSchema>;

// ---------------------------------------------------------------------------------------------
// Compiled policy

export interface CompiledRule {
  readonly name: string;
  readonly matcher: RegExp | null;
  readonly keywords: RegExp | null;
  readonly in: "last" | "user";
  readonly minChars: number | null;
  readonly maxChars: number | null;
  readonly minTurns: number | null;
  readonly hasContext: boolean | null;
  readonly tags: Readonly<Record<string, string>> | null;
  readonly add: number;
  readonly tier: string | null;
}

export interface Tier {
  readonly name: string;
  /** null: the caller's own model (only the last tier). */
  readonly models: Readonly<Partial<Record<Provider, ModelPrice>>> | null;
  readonly maxScore: number | null;
}

export interface ShadowPolicy {
  readonly sampleRate: number;
  readonly judge: JudgeMethod;
  readonly similarity: number;
  readonly judgeModel: ModelPrice | null;
  readonly ttlSeconds: number;
}
export type QualityPolicy = z.infer<typeof qualitySchema>;

export interface CascadePolicy {
  readonly uncertaintyPhrases: readonly string[];
  readonly uncertainty: RegExp | null;
  readonly minChars: number;
  readonly escalateOnTruncation: boolean;
  readonly format: "text" | "json" | "label";
  readonly labels: readonly string[] | null;
  readonly validateJson: ValidateFunction | null;
  readonly pattern: RegExp | null;
}

export interface UseCasePolicy {
  readonly useCase: string;
  readonly strategy: Strategy;
  /** Cheapest first; the last one is the frontier (fallback, holdout and escalation target). */
  readonly tiers: readonly Tier[];
  readonly defaultModel: ModelPrice | null;
  readonly baseScore: number;
  readonly rules: readonly CompiledRule[];
  /** Percentage (0..100) of the use case's traffic that may leave the frontier tier. */
  readonly rollout: number;
  readonly shadow: ShadowPolicy;
  readonly quality: QualityPolicy;
  readonly cascade: CascadePolicy;
  readonly llm: { readonly model: ModelPrice; readonly maxPromptChars: number; readonly unparseableScore: number };
  readonly classifier: { readonly model: ClassifierModel; readonly file: string } | null;
}

export interface RouterPolicy {
  readonly source: string;
  readonly useCases: ReadonlyMap<string, UseCasePolicy>;
  readonly passthroughModel: ModelPrice | null;
}

export interface PolicyDeps {
  readonly catalog: PriceCatalog;
}

// ---------------------------------------------------------------------------------------------

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

function suggestion(catalog: PriceCatalog, model: string): string {
  const chat = catalog.models.filter((m) => m.kind === "chat");
  const best = chat.map((m) => ({ id: m.id, d: levenshtein(model.toLowerCase(), m.id.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= 3 ? ` (did you mean ${best.id}?)` : ` (chat models: ${chat.map((m) => m.id).join(", ")})`;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** One regex for a keyword list: whole words, case-insensitive; "c++" and "step by step" work too. */
export function keywordRegex(keywords: readonly string[]): RegExp {
  const alts = keywords.map((k) => escapeRegex(k.toLowerCase()).replace(/\s+/g, "\\s+"));
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${alts.join("|")})(?![\\p{L}\\p{N}])`, "iu");
}

/** zod's ["useCases", "chat", "rules", 2] → "useCases.chat.rules[2]", the same form as the semantic checks. */
function formatPath(p: readonly (string | number)[]): string {
  return p.reduce<string>((acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), "");
}

class Issues {
  readonly list: string[] = [];
  add(where: string, message: string): void {
    this.list.push(`  ${where}: ${message}`);
  }
}

function chatModel(catalog: PriceCatalog, id: string, where: string, issues: Issues): ModelPrice | null {
  const m = findModel(catalog, id);
  if (!m) {
    issues.add(where, `model "${id}" is not in price catalog ${catalog.version}${suggestion(catalog, id)}`);
    return null;
  }
  if (m.kind !== "chat") {
    issues.add(where, `model "${id}" is an ${m.kind} model, not a chat model`);
    return null;
  }
  return m;
}

function compileRegex(source: string, where: string, issues: Issues): RegExp | null {
  try {
    return new RegExp(source, "iu");
  } catch (err) {
    issues.add(where, `invalid regular expression: ${(err as Error).message}`);
    return null;
  }
}

/**
 * Validate and compile a parsed policy document. `baseDir` resolves relative file paths
 * (classifier models) — the policy file's own directory.
 */
export function compilePolicy(doc: unknown, source: string, baseDir: string, deps: PolicyDeps): RouterPolicy {
  const parsed = policyFileSchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${formatPath(i.path) || "(root)"}: ${i.message}`);
    throw new PolicyError(`invalid router policy ${source}:\n${lines.join("\n")}`);
  }
  const file = parsed.data;
  const issues = new Issues();
  const { catalog } = deps;
  const d = file.defaults;
  const classifiers = new Map<string, ClassifierModel>();
  const ajv = new Ajv({ allErrors: true, strict: false });

  const loadClassifier = (rel: string, where: string) => {
    const abs = path.resolve(baseDir, rel);
    if (!classifiers.has(abs)) {
      try {
        classifiers.set(abs, loadClassifierModel(abs));
      } catch (err) {
        issues.add(where, (err as Error).message);
        return null;
      }
    }
    return { model: classifiers.get(abs)!, file: abs };
  };

  const passthroughModel = d.passthroughModel ? chatModel(catalog, d.passthroughModel, "defaults.passthroughModel", issues) : null;
  const useCases = new Map<string, UseCasePolicy>();

  for (const [uc, spec] of Object.entries(file.useCases)) {
    const at = `useCases.${uc}`;
    const tierNames = new Set<string>();
    const tiers: Tier[] = [];
    spec.tiers.forEach((t, i) => {
      const where = `${at}.tiers[${i}]`;
      const last = i === spec.tiers.length - 1;
      if (tierNames.has(t.name)) issues.add(`${where}.name`, `tier "${t.name}" is listed twice`);
      tierNames.add(t.name);
      if (last && t.maxScore !== undefined) issues.add(`${where}.maxScore`, "the last tier takes every remaining request and has no maxScore");
      if (!last && t.maxScore === undefined) issues.add(`${where}.maxScore`, "required on every tier but the last (requests scoring below it use this tier)");
      const prev = tiers.at(-1)?.maxScore;
      if (!last && t.maxScore !== undefined && prev != null && t.maxScore <= prev) issues.add(`${where}.maxScore`, `must be greater than the previous tier's (${prev})`);
      if (t.models === "caller" && !last) issues.add(`${where}.models`, `"caller" (the request's own model) is only allowed on the last tier`);
      let models: Partial<Record<Provider, ModelPrice>> | null = null;
      if (t.models !== "caller") {
        models = {};
        const entries = Object.entries(t.models) as [Provider, string][];
        if (entries.length === 0) issues.add(`${where}.models`, "name a model for at least one provider");
        for (const [provider, id] of entries) {
          const m = chatModel(catalog, id, `${where}.models.${provider}`, issues);
          if (m && m.provider !== provider) issues.add(`${where}.models.${provider}`, `model "${id}" is a ${m.provider} model`);
          else if (m) models[provider] = m;
        }
      }
      tiers.push({ name: t.name, models, maxScore: t.maxScore ?? null });
    });

    const rules: CompiledRule[] = spec.rules.map((r, i) => {
      const where = `${at}.rules[${i}]`;
      if (r.tier !== undefined && !tierNames.has(r.tier)) issues.add(`${where}.tier`, `no tier named "${r.tier}" (tiers: ${[...tierNames].join(", ")})`);
      if (r.minChars !== undefined && r.maxChars !== undefined && r.minChars > r.maxChars) issues.add(where, "minChars is greater than maxChars");
      return {
        name: r.name,
        matcher: r.pattern ? compileRegex(r.pattern, `${where}.pattern`, issues) : null,
        keywords: r.keywords ? keywordRegex(r.keywords) : null,
        in: r.in,
        minChars: r.minChars ?? null,
        maxChars: r.maxChars ?? null,
        minTurns: r.minTurns ?? null,
        hasContext: r.hasContext ?? null,
        tags: r.tags ?? null,
        add: r.add ?? 0,
        tier: r.tier ?? null,
      };
    });
    if (spec.strategy !== "rules" && rules.length > 0) issues.add(`${at}.rules`, `rules are only used by strategy "rules" (this use case uses "${spec.strategy}")`);

    const shadowSpec = { ...d.shadow, ...spec.shadow };
    const judgeModel = shadowSpec.judgeModel ? chatModel(catalog, shadowSpec.judgeModel, `${at}.shadow.judgeModel`, issues) : null;
    if (shadowSpec.judge === "llm" && !shadowSpec.judgeModel) issues.add(`${at}.shadow.judgeModel`, 'the "llm" judge needs a judgeModel');
    const quality = { ...d.quality, ...spec.quality };
    if (quality.minSamples > quality.window) issues.add(`${at}.quality.minSamples`, `is ${quality.minSamples} but the window keeps only ${quality.window} comparisons`);

    const c = { ...d.cascade, ...spec.cascade };
    let validateJson: ValidateFunction | null = null;
    if (c.jsonSchema) {
      try {
        validateJson = ajv.compile(c.jsonSchema);
      } catch (err) {
        issues.add(`${at}.cascade.jsonSchema`, `invalid JSON schema: ${(err as Error).message}`);
      }
    }
    if (c.format === "label" && (!c.labels || c.labels.length === 0)) issues.add(`${at}.cascade.labels`, 'format "label" needs the list of valid labels');
    const cascade: CascadePolicy = {
      uncertaintyPhrases: c.uncertaintyPhrases,
      uncertainty: c.uncertaintyPhrases.length > 0 ? keywordRegex(c.uncertaintyPhrases) : null,
      minChars: c.minChars,
      escalateOnTruncation: c.escalateOnTruncation,
      format: c.format,
      labels: c.labels,
      validateJson,
      pattern: c.pattern ? compileRegex(c.pattern, `${at}.cascade.pattern`, issues) : null,
    };

    const llmSpec = { ...d.llm, ...spec.llm };
    const llmModel = chatModel(catalog, llmSpec.model, `${at}.llm.model`, issues);
    const classifierSpec = spec.classifier ?? d.classifier;
    let classifier: UseCasePolicy["classifier"] = null;
    if (spec.strategy === "classifier") {
      if (!classifierSpec) issues.add(`${at}.classifier`, 'strategy "classifier" needs classifier.model (here or in defaults)');
      else classifier = loadClassifier(classifierSpec.model, `${at}.classifier.model`);
    }
    const defaultModel = spec.defaultModel ? chatModel(catalog, spec.defaultModel, `${at}.defaultModel`, issues) : null;

    if (llmModel) {
      useCases.set(uc, {
        useCase: uc, strategy: spec.strategy, tiers, defaultModel, baseScore: spec.baseScore, rules,
        rollout: spec.rollout ?? d.rollout,
        shadow: { sampleRate: shadowSpec.sampleRate, judge: shadowSpec.judge, similarity: shadowSpec.similarity, judgeModel, ttlSeconds: shadowSpec.ttlSeconds },
        quality, cascade,
        llm: { model: llmModel, maxPromptChars: llmSpec.maxPromptChars, unparseableScore: llmSpec.unparseableScore },
        classifier,
      });
    }
  }
  if (issues.list.length > 0) throw new PolicyError(`invalid router policy ${source}:\n${issues.list.join("\n")}`);
  return { source, useCases, passthroughModel };
}

/** Parse YAML (or JSON, which is YAML) text and compile it. */
export function parsePolicy(text: string, source: string, baseDir: string, deps: PolicyDeps): RouterPolicy {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const detail = err instanceof YAMLParseError ? err.message : String(err);
    throw new PolicyError(`router policy ${source} is not valid YAML/JSON: ${detail}`, { cause: err });
  }
  return compilePolicy(doc, source, baseDir, deps);
}

export function loadPolicy(file: string, deps: PolicyDeps): RouterPolicy {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new PolicyError(`cannot read router policy ${file}: ${(err as Error).message} (set ROUTER_POLICY_FILE)`, { cause: err });
  }
  return parsePolicy(text, file, path.dirname(path.resolve(file)), deps);
}
