import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import type { ModelPrice, PriceCatalog, Provider } from "@costwise/pricing";
import { findModel, isoDate, lifecycleStatus } from "@costwise/pricing";
import { keywordRegex, type CascadeChecks } from "@costwise/route-state";
import { loadClassifierModel, type ClassifierModel } from "./classifier.ts";
import { PolicyError } from "./errors.ts";
import { chooseThreshold, type CalibrationStart, type QualityTarget } from "./semantic/calibration.ts";
import { loadSemanticModel, type CalibrationPoint, type SemanticModel } from "./semantic/model.ts";

/*
 * The routing policy: one validated file (YAML or JSON) with a section per use case. Parsed once
 * at start-up into the compiled `RouterPolicy` below; anything that cannot work (unknown model,
 * bad regex, thresholds out of order, missing classifier file) stops the service with a
 * PolicyError naming the file and the path of every problem.
 */

export const STRATEGIES = ["rules", "classifier", "semantic", "llm", "cascade"] as const;
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
    /** The request defines tools (or carries tool calls and results). */
    hasTools: z.boolean().optional(),
    /** The answer must be JSON (response_format json_object or json_schema). */
    jsonOutput: z.boolean().optional(),
    tags: z.record(z.string()).optional(),
    /** Added to the score when the rule matches. */
    add: z.number().min(-1).max(1).optional(),
    /** Send to this tier when the rule matches (the first forcing rule wins). */
    tier: name.optional(),
  })
  .strict()
  .refine((r) => r.keywords || r.pattern || r.minChars !== undefined || r.maxChars !== undefined || r.minTurns !== undefined || r.hasContext !== undefined || r.hasTools !== undefined || r.jsonOutput !== undefined || r.tags, {
    message: "a rule needs at least one condition (keywords, pattern, minChars, maxChars, minTurns, hasContext, hasTools, jsonOutput or tags)",
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
const semanticSchema = z.object({
  model: z.string().min(1),
  /**
   * Before live shadow samples confirm the target: "frontier" (default) sends everything to the
   * frontier tier until they do; "model" routes on the model file's calibrated threshold meanwhile.
   */
  start: z.enum(["frontier", "model"]).optional(),
}).strict();

/** What a use case must keep; the router derives its threshold from the model's calibration. */
const targetSchema = z
  .object({
    /** Share of the frontier model's quality to keep, e.g. 0.95. */
    quality: z.number().gt(0).max(1.5).optional(),
    /** At most this share of requests on the frontier tier. */
    strong_share_max: share.optional(),
  })
  .strict()
  .refine((t) => t.quality !== undefined || t.strong_share_max !== undefined, { message: "name quality and/or strong_share_max" });

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
    shadow: shadowSchema.default({ sampleRate: 0.05, judge: "embedding", similarity: 0.87, judgeModel: null, ttlSeconds: 3600 }),
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
    semantic: semanticSchema.optional(),
    target: targetSchema.optional(),
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
  readonly hasTools: boolean | null;
  readonly jsonOutput: boolean | null;
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
  /** The checks as they travel on a cascade route (pipeline.route.cascade), for the executor. */
  readonly checks: CascadeChecks;
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
  /** Strategy "semantic": the model, and the threshold its calibration gives the use case's target. */
  readonly semantic: SemanticRoute | null;
}

export interface SemanticRoute {
  readonly model: SemanticModel;
  readonly file: string;
  readonly target: QualityTarget;
  /** Scores at or above it go to the frontier tier (the cheap tier's maxScore). */
  readonly threshold: number;
  /** The calibration point the threshold came from: expected strong share and quality, with its lower bound. */
  readonly expected: CalibrationPoint;
  /** What live re-calibration routes on before shadow samples confirm the target (see recalibrate). */
  readonly start: CalibrationStart;
}

export interface RouterPolicy {
  readonly source: string;
  readonly useCases: ReadonlyMap<string, UseCasePolicy>;
  readonly passthroughModel: ModelPrice | null;
  /** Deprecated models the policy names (each still served): logged at start-up. */
  readonly warnings: readonly string[];
}

export interface PolicyDeps {
  readonly catalog: PriceCatalog;
  /** The embedder the router runs (its name); a semantic model trained on another one is refused. */
  readonly embeddingModel?: string;
  /** The date models are checked against (retired → error, deprecated → warning); default today. */
  readonly now?: () => number;
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

// Keyword rules and the cascade's uncertainty phrases share one matcher (with the executor's check).
export { keywordRegex };

/** zod's ["useCases", "chat", "rules", 2] → "useCases.chat.rules[2]", the same form as the semantic checks. */
function formatPath(p: readonly (string | number)[]): string {
  return p.reduce<string>((acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), "");
}

class Issues {
  readonly list: string[] = [];
  readonly warnings: string[] = [];
  constructor(readonly onDate: string = isoDate(Date.now())) {}
  add(where: string, message: string): void {
    this.list.push(`  ${where}: ${message}`);
  }
  warn(where: string, message: string): void {
    this.warnings.push(`${where}: ${message}`);
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
  const { status, lifecycle } = lifecycleStatus(catalog, m.id, issues.onDate);
  const successor = lifecycle?.successor ? `; successor: ${lifecycle.successor}` : "";
  if (status === "retired") {
    issues.add(where, `model "${id}" was retired on ${lifecycle!.retiresOn} (${lifecycle!.source})${successor}`);
    return null;
  }
  if (status === "deprecated") issues.warn(where, `model "${id}" is deprecated${lifecycle!.retiresOn ? `, retires on ${lifecycle!.retiresOn}` : ", retirement date unknown"}${successor}`);
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

type FileSpec = z.infer<typeof policyFileSchema>;
type UseCaseSpec = FileSpec["useCases"][string];
type Defaults = FileSpec["defaults"];

interface CompileContext {
  readonly catalog: PriceCatalog;
  readonly issues: Issues;
  readonly baseDir: string;
  readonly deps: PolicyDeps;
  readonly ajv: Ajv;
  readonly files: Map<string, ClassifierModel | SemanticModel>;
}

/** Load a model file once per policy (use cases may share one), reporting a bad file at `where`. */
function loadModelFile<T extends ClassifierModel | SemanticModel>(cx: CompileContext, rel: string, where: string, load: (abs: string) => T): { model: T; file: string } | null {
  const abs = path.resolve(cx.baseDir, rel);
  if (!cx.files.has(abs)) {
    try {
      cx.files.set(abs, load(abs));
    } catch (err) {
      cx.issues.add(where, (err as Error).message);
      return null;
    }
  }
  return { model: cx.files.get(abs) as T, file: abs };
}

function compileTiers(cx: CompileContext, at: string, spec: UseCaseSpec): Tier[] {
  const tierNames = new Set<string>();
  const tiers: Tier[] = [];
  // A semantic use case with a target derives the cheap tier's maxScore from its calibration.
  const derived = spec.strategy === "semantic" && spec.target !== undefined;
  spec.tiers.forEach((t, i) => {
    const where = `${at}.tiers[${i}]`;
    const last = i === spec.tiers.length - 1;
    if (tierNames.has(t.name)) cx.issues.add(`${where}.name`, `tier "${t.name}" is listed twice`);
    tierNames.add(t.name);
    if (last && t.maxScore !== undefined) cx.issues.add(`${where}.maxScore`, "the last tier takes every remaining request and has no maxScore");
    if (derived && t.maxScore !== undefined) cx.issues.add(`${where}.maxScore`, "set by the use case's target from the model's calibration: leave it out");
    if (!derived && !last && t.maxScore === undefined) cx.issues.add(`${where}.maxScore`, "required on every tier but the last (requests scoring below it use this tier)");
    const prev = tiers.at(-1)?.maxScore;
    if (!last && t.maxScore !== undefined && prev != null && t.maxScore <= prev) cx.issues.add(`${where}.maxScore`, `must be greater than the previous tier's (${prev})`);
    if (t.models === "caller" && !last) cx.issues.add(`${where}.models`, `"caller" (the request's own model) is only allowed on the last tier`);
    let models: Partial<Record<Provider, ModelPrice>> | null = null;
    if (t.models !== "caller") {
      models = {};
      const entries = Object.entries(t.models) as [Provider, string][];
      if (entries.length === 0) cx.issues.add(`${where}.models`, "name a model for at least one provider");
      for (const [provider, id] of entries) {
        const m = chatModel(cx.catalog, id, `${where}.models.${provider}`, cx.issues);
        if (m && m.provider !== provider) cx.issues.add(`${where}.models.${provider}`, `model "${id}" is a ${m.provider} model`);
        else if (m) models[provider] = m;
      }
    }
    tiers.push({ name: t.name, models, maxScore: t.maxScore ?? null });
  });
  if (derived && tiers.length !== 2) cx.issues.add(`${at}.tiers`, "a semantic use case with a target has exactly two tiers (cheap, frontier)");
  return tiers;
}

function compileRules(cx: CompileContext, at: string, spec: UseCaseSpec): CompiledRule[] {
  const tierNames = new Set(spec.tiers.map((t) => t.name));
  const rules = spec.rules.map((r, i): CompiledRule => {
    const where = `${at}.rules[${i}]`;
    if (r.tier !== undefined && !tierNames.has(r.tier)) cx.issues.add(`${where}.tier`, `no tier named "${r.tier}" (tiers: ${[...tierNames].join(", ")})`);
    if (r.minChars !== undefined && r.maxChars !== undefined && r.minChars > r.maxChars) cx.issues.add(where, "minChars is greater than maxChars");
    return {
      name: r.name,
      matcher: r.pattern ? compileRegex(r.pattern, `${where}.pattern`, cx.issues) : null,
      keywords: r.keywords ? keywordRegex(r.keywords) : null,
      in: r.in,
      minChars: r.minChars ?? null,
      maxChars: r.maxChars ?? null,
      minTurns: r.minTurns ?? null,
      hasContext: r.hasContext ?? null,
      hasTools: r.hasTools ?? null,
      jsonOutput: r.jsonOutput ?? null,
      tags: r.tags ?? null,
      add: r.add ?? 0,
      tier: r.tier ?? null,
    };
  });
  if (spec.strategy !== "rules" && rules.length > 0) cx.issues.add(`${at}.rules`, `rules are only used by strategy "rules" (this use case uses "${spec.strategy}")`);
  return rules;
}

function compileCascade(cx: CompileContext, at: string, c: Defaults["cascade"]): CascadePolicy {
  let validateJson: ValidateFunction | null = null;
  if (c.jsonSchema) {
    try {
      validateJson = cx.ajv.compile(c.jsonSchema);
    } catch (err) {
      cx.issues.add(`${at}.cascade.jsonSchema`, `invalid JSON schema: ${(err as Error).message}`);
    }
  }
  if (c.format === "label" && (!c.labels || c.labels.length === 0)) cx.issues.add(`${at}.cascade.labels`, 'format "label" needs the list of valid labels');
  return {
    checks: {
      uncertainty_phrases: [...c.uncertaintyPhrases], min_chars: c.minChars, escalate_on_truncation: c.escalateOnTruncation, format: c.format,
      labels: c.labels ? [...c.labels] : null, json_schema: c.jsonSchema ? JSON.stringify(c.jsonSchema) : null, pattern: c.pattern,
    },
    uncertaintyPhrases: c.uncertaintyPhrases,
    uncertainty: c.uncertaintyPhrases.length > 0 ? keywordRegex(c.uncertaintyPhrases) : null,
    minChars: c.minChars,
    escalateOnTruncation: c.escalateOnTruncation,
    format: c.format,
    labels: c.labels,
    validateJson,
    pattern: c.pattern ? compileRegex(c.pattern, `${at}.cascade.pattern`, cx.issues) : null,
  };
}

/** The semantic model and the threshold its calibration gives the target; a target no threshold meets is a policy error. */
const uc = (at: string) => at.slice("useCases.".length);

function compileSemantic(cx: CompileContext, at: string, spec: UseCaseSpec): SemanticRoute | null {
  if (spec.strategy !== "semantic") {
    if (spec.semantic) cx.issues.add(`${at}.semantic`, `only used by strategy "semantic" (this use case uses "${spec.strategy}")`);
    if (spec.target) cx.issues.add(`${at}.target`, `a quality target needs strategy "semantic", whose model carries the calibration (this use case uses "${spec.strategy}")`);
    return null;
  }
  if (!spec.semantic) {
    cx.issues.add(`${at}.semantic`, 'strategy "semantic" needs semantic.model (a file written by npm run train:router)');
    return null;
  }
  if (!spec.target) {
    cx.issues.add(`${at}.target`, 'strategy "semantic" needs a target: { quality: 0.95 } (share of frontier quality) or { strong_share_max: 0.3 }');
    return null;
  }
  const loaded = loadModelFile(cx, spec.semantic.model, `${at}.semantic.model`, loadSemanticModel);
  if (!loaded) return null;
  const m = loaded.model;
  if (cx.deps.embeddingModel !== undefined && m.embedding.model !== cx.deps.embeddingModel) {
    cx.issues.add(`${at}.semantic.model`, `${loaded.file} was trained on embedding ${m.embedding.model}, but the router embeds with ${cx.deps.embeddingModel}: retrain it with npm run train:router or configure that embedder`);
    return null;
  }
  const choice = chooseThreshold(m.calibration, spec.target);
  if (!("threshold" in choice)) {
    cx.issues.add(`${at}.target`, `use case ${uc(at)} cannot meet its target: ${choice.reason}`);
    return null;
  }
  return { model: m, file: loaded.file, target: spec.target, threshold: choice.threshold, expected: choice.point, start: spec.semantic.start ?? "frontier" };
}

function compileUseCase(cx: CompileContext, uc: string, spec: UseCaseSpec, d: Defaults): UseCasePolicy | null {
  const at = `useCases.${uc}`;
  const { catalog, issues } = cx;
  const semantic = compileSemantic(cx, at, spec);
  let tiers = compileTiers(cx, at, spec);
  if (semantic && tiers.length === 2) tiers = [{ ...tiers[0]!, maxScore: semantic.threshold }, tiers[1]!];
  const rules = compileRules(cx, at, spec);

  const shadowSpec = { ...d.shadow, ...spec.shadow };
  const judgeModel = shadowSpec.judgeModel ? chatModel(catalog, shadowSpec.judgeModel, `${at}.shadow.judgeModel`, issues) : null;
  if (shadowSpec.judge === "llm" && !shadowSpec.judgeModel) issues.add(`${at}.shadow.judgeModel`, 'the "llm" judge needs a judgeModel');
  const quality = { ...d.quality, ...spec.quality };
  if (quality.minSamples > quality.window) issues.add(`${at}.quality.minSamples`, `is ${quality.minSamples} but the window keeps only ${quality.window} comparisons`);
  const cascade = compileCascade(cx, at, { ...d.cascade, ...spec.cascade });

  const llmSpec = { ...d.llm, ...spec.llm };
  const llmModel = chatModel(catalog, llmSpec.model, `${at}.llm.model`, issues);
  const classifierSpec = spec.classifier ?? d.classifier;
  let classifier: UseCasePolicy["classifier"] = null;
  if (spec.strategy === "classifier") {
    if (!classifierSpec) issues.add(`${at}.classifier`, 'strategy "classifier" needs classifier.model (here or in defaults)');
    else classifier = loadModelFile(cx, classifierSpec.model, `${at}.classifier.model`, loadClassifierModel);
  }
  const defaultModel = spec.defaultModel ? chatModel(catalog, spec.defaultModel, `${at}.defaultModel`, issues) : null;
  if (!llmModel) return null;
  return {
    useCase: uc, strategy: spec.strategy, tiers, defaultModel, baseScore: spec.baseScore, rules,
    rollout: spec.rollout ?? d.rollout,
    shadow: { sampleRate: shadowSpec.sampleRate, judge: shadowSpec.judge, similarity: shadowSpec.similarity, judgeModel, ttlSeconds: shadowSpec.ttlSeconds },
    quality, cascade,
    llm: { model: llmModel, maxPromptChars: llmSpec.maxPromptChars, unparseableScore: llmSpec.unparseableScore },
    classifier, semantic,
  };
}

/**
 * Validate and compile a parsed policy document. `baseDir` resolves relative file paths
 * (classifier and semantic models) — the policy file's own directory.
 */
export function compilePolicy(doc: unknown, source: string, baseDir: string, deps: PolicyDeps): RouterPolicy {
  const parsed = policyFileSchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${formatPath(i.path) || "(root)"}: ${i.message}`);
    throw new PolicyError(`invalid router policy ${source}:\n${lines.join("\n")}`);
  }
  const file = parsed.data;
  const cx: CompileContext = { catalog: deps.catalog, issues: new Issues(isoDate((deps.now ?? Date.now)())), baseDir, deps, ajv: new Ajv({ allErrors: true, strict: false }), files: new Map() };
  const d = file.defaults;
  const passthroughModel = d.passthroughModel ? chatModel(cx.catalog, d.passthroughModel, "defaults.passthroughModel", cx.issues) : null;
  const useCases = new Map<string, UseCasePolicy>();
  for (const [uc, spec] of Object.entries(file.useCases)) {
    const compiled = compileUseCase(cx, uc, spec, d);
    if (compiled) useCases.set(uc, compiled);
  }
  if (cx.issues.list.length > 0) throw new PolicyError(`invalid router policy ${source}:\n${cx.issues.list.join("\n")}`);
  return { source, useCases, passthroughModel, warnings: cx.issues.warnings };
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
