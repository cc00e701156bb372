import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { z } from "zod";
import { fineTunedBase, findModel, type ModelPrice, type PriceCatalog } from "@costwise/pricing";
import { DistillPolicyError } from "./errors.ts";
import { inferencePriceOf } from "./prices.ts";

/*
 * The distillation policy: one validated YAML (or JSON) file with defaults and a section per use
 * case (capture, candidate model, shadow scoring, readiness bar, switch enable). Parsed once at
 * start-up into `DistillPolicy`; a problem stops the service (or the CLI) with a
 * DistillPolicyError naming the file and the path of every problem.
 */

/** The shipped policy, found relative to this package whatever the working directory. */
export const DEFAULT_DISTILL_POLICY_FILE = fileURLToPath(new URL("../config/policy.yaml", import.meta.url));

export const SCORERS = ["exact", "structured", "embedding", "semantic", "llm"] as const;
export type Scorer = (typeof SCORERS)[number];

const share = z.number().min(0).max(1);
const modelId = z.string().trim().min(1);

const customRuleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "use lower-case letters, digits, '-' and '_'"),
    /** A JavaScript regular expression, matched globally (case-sensitively unless ignoreCase). */
    pattern: z.string().min(1),
    /** Case-insensitive matching. */
    ignoreCase: z.boolean().default(false),
    /** What replaces a match; default `[<NAME>]`. */
    replacement: z.string().optional(),
  })
  .strict();

const redactionSchema = z
  .object({
    email: z.boolean(),
    /** Phone numbers, found with libphonenumber-js (valid numbers only). */
    phone: z.boolean(),
    /** Region for numbers written without a country code (ISO 3166-1 alpha-2). */
    phoneCountry: z.string().regex(/^[A-Z]{2}$/).nullable(),
    /** 13-19 digit runs (spaces or dashes allowed) that pass the Luhn check. */
    card: z.boolean(),
    /** IBANs that pass the ISO 13616 mod-97 check. */
    iban: z.boolean(),
    custom: z.array(customRuleSchema),
  })
  .strict();

const qualityFilterSchema = z
  .object({
    /** The request tag carrying a numeric quality signal (an upstream evaluator's score, a user rating). */
    tag: z.string().min(1),
    min: z.number(),
    /** Requests without the tag (or with a non-numeric one): keep or drop. */
    missing: z.enum(["keep", "drop"]),
  })
  .strict();

const filtersSchema = z
  .object({
    /** Answers shorter than this (trimmed) are not captured. */
    minAnswerChars: z.number().int().nonnegative(),
    maxAnswerChars: z.number().int().positive().nullable(),
    /** Answers containing one of these (case-insensitive) are not captured: refusals and self-reported uncertainty. */
    rejectPhrases: z.array(z.string().trim().min(1)),
    quality: qualityFilterSchema.nullable(),
  })
  .strict();

const captureSchema = z
  .object({
    enabled: z.boolean(),
    /** Share of requests captured, chosen by a hash of the request id (a replay is sampled the same way). */
    sampleRate: share,
    /** Answers from these models count as frontier answers; the router's last tier always does. */
    frontierModels: z.array(modelId),
    filters: filtersSchema,
    redaction: redactionSchema,
  })
  .strict();

const shadowSchema = z
  .object({
    /** Share of requests also sent to the candidate model in shadow. */
    sampleRate: share,
    scorer: z.enum(SCORERS),
    /** embedding / semantic: cosine similarity at or above which two answers agree. */
    similarity: share,
    /** llm: the model that compares the answers. */
    judgeModel: modelId.nullable(),
  })
  .strict();

const readinessSchema = z
  .object({
    /** Decided shadow comparisons needed before the bar is judged. */
    minSamples: z.number().int().positive(),
    /** The Wilson 95% lower bound of the agreement rate must reach this (below 1: a lower bound never reaches 1). */
    minAgreementLower: z.number().min(0).lt(1),
  })
  .strict();

const exportSchema = z
  .object({
    /** Share of unique prompts put in the validation file (by a hash of the prompt). */
    validationFraction: z.number().min(0).max(0.5),
    /** Epochs assumed for the training-cost estimate. */
    epochs: z.number().int().positive().max(50),
  })
  .strict();

const rampSchema = z
  .object({
    /** Percent of the use case's traffic at each step of the switch, increasing, ending at 100. */
    steps: z.array(z.number().gt(0).max(100)).min(1).refine((xs) => xs.every((x, i) => i === 0 || x > xs[i - 1]!) && xs[xs.length - 1] === 100, "increasing percentages ending at 100"),
    /** Live shadow comparisons of the distilled route a step needs before the next step. */
    minLiveSamples: z.number().int().positive(),
  })
  .strict();

const defaultsSchema = z
  .object({
    capture: captureSchema.default({
      enabled: false, sampleRate: 1, frontierModels: [],
      filters: { minAnswerChars: 1, maxAnswerChars: null, rejectPhrases: [], quality: null },
      redaction: { email: true, phone: true, phoneCountry: "US", card: true, iban: true, custom: [] },
    }),
    shadow: shadowSchema.default({ sampleRate: 0.05, scorer: "embedding", similarity: 0.8, judgeModel: null }),
    readiness: readinessSchema.default({ minSamples: 200, minAgreementLower: 0.9 }),
    export: exportSchema.default({ validationFraction: 0.1, epochs: 3 }),
    ramp: rampSchema.default({ steps: [10, 50, 100], minLiveSamples: 50 }),
  })
  .strict();

const useCaseSchema = z
  .object({
    description: z.string().optional(),
    capture: captureSchema
      .extend({ filters: filtersSchema.partial(), redaction: redactionSchema.partial() })
      .partial()
      .optional(),
    /** The small model measured in shadow and switched to: a catalog chat model or a fine-tuned id (ft:<base>:…). */
    candidate: modelId.nullable().default(null),
    /** Base model the export's training-cost estimate prices (default: the candidate's base). */
    fineTuneBase: modelId.optional(),
    shadow: shadowSchema.partial().optional(),
    readiness: readinessSchema.partial().optional(),
    export: exportSchema.partial().optional(),
    ramp: rampSchema.partial().optional(),
    /** Allow `costwise distill switch` to send the use case to the candidate once the bar is met. */
    enabled: z.boolean().default(false),
  })
  .strict();

export const distillPolicyFileSchema = z
  .object({
    version: z.literal(1),
    defaults: defaultsSchema.default({}),
    useCases: z.record(z.string().min(1), useCaseSchema),
  })
  .strict();
export type DistillPolicyFile = z.input<typeof distillPolicyFileSchema>;

export interface CustomRule {
  readonly name: string;
  readonly regex: RegExp;
  readonly replacement: string;
}

export interface RedactionPolicy {
  readonly email: boolean;
  readonly phone: boolean;
  readonly phoneCountry: string | null;
  readonly card: boolean;
  readonly iban: boolean;
  readonly custom: readonly CustomRule[];
}

export interface CapturePolicy {
  readonly enabled: boolean;
  readonly sampleRate: number;
  readonly frontierModels: readonly string[];
  readonly filters: {
    readonly minAnswerChars: number;
    readonly maxAnswerChars: number | null;
    readonly rejectPhrases: readonly string[];
    readonly quality: z.infer<typeof qualityFilterSchema> | null;
  };
  readonly redaction: RedactionPolicy;
}

export interface UseCaseDistillPolicy {
  readonly useCase: string;
  readonly capture: CapturePolicy;
  /** Priced at fine-tuned inference prices for ft: ids (@costwise/pricing fine-tuning.ts). */
  readonly candidate: ModelPrice | null;
  /** Base model of the fine-tuning-cost estimate; null when no candidate and none named. */
  readonly fineTuneBase: ModelPrice | null;
  readonly shadow: { readonly sampleRate: number; readonly scorer: Scorer; readonly similarity: number; readonly judgeModel: ModelPrice | null };
  readonly readiness: z.infer<typeof readinessSchema>;
  readonly export: z.infer<typeof exportSchema>;
  readonly ramp: z.infer<typeof rampSchema>;
  readonly enabled: boolean;
}

export interface DistillPolicy {
  readonly source: string;
  readonly useCases: ReadonlyMap<string, UseCaseDistillPolicy>;
}

function formatPath(p: readonly (string | number)[]): string {
  return p.reduce<string>((acc, seg) => (typeof seg === "number" ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), "");
}

export function compileDistillPolicy(doc: unknown, source: string, catalog: PriceCatalog): DistillPolicy {
  const parsed = distillPolicyFileSchema.safeParse(doc);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${formatPath(i.path) || "(root)"}: ${i.message}`);
    throw new DistillPolicyError(`invalid distillation policy ${source}:\n${lines.join("\n")}`);
  }
  const file = parsed.data;
  const d = file.defaults;
  const issues: string[] = [];
  const issue = (where: string, message: string) => issues.push(`  ${where}: ${message}`);
  const chatModel = (id: string, where: string): ModelPrice | null => {
    const m = findModel(catalog, id);
    if (!m || m.kind !== "chat") {
      issue(where, m ? `model "${id}" is an ${m.kind} model, not a chat model` : `model "${id}" is not a chat model in price catalog ${catalog.version}`);
      return null;
    }
    return m;
  };

  const useCases = new Map<string, UseCaseDistillPolicy>();
  for (const [uc, spec] of Object.entries(file.useCases)) {
    const at = `useCases.${uc}`;
    const c = spec.capture ?? {};
    const filters = { ...d.capture.filters, ...c.filters };
    const r = { ...d.capture.redaction, ...c.redaction };
    const custom: CustomRule[] = [];
    r.custom.forEach((rule, i) => {
      try {
        custom.push({ name: rule.name, regex: new RegExp(rule.pattern, rule.ignoreCase ? "giu" : "gu"), replacement: rule.replacement ?? `[${rule.name.toUpperCase()}]` });
      } catch (err) {
        issue(`${at}.capture.redaction.custom[${i}].pattern`, `invalid regular expression: ${(err as Error).message}`);
      }
    });
    const frontierModels = c.frontierModels ?? d.capture.frontierModels;
    frontierModels.forEach((m, i) => chatModel(m, `${at}.capture.frontierModels[${i}]`));
    if (filters.maxAnswerChars !== null && filters.maxAnswerChars < filters.minAnswerChars) issue(`${at}.capture.filters.maxAnswerChars`, "is below minAnswerChars");

    let candidate: ModelPrice | null = null;
    if (spec.candidate) {
      const ftBase = spec.candidate.startsWith("ft:") ? fineTunedBase(catalog, spec.candidate) : null;
      if (spec.candidate.startsWith("ft:") && !ftBase) issue(`${at}.candidate`, `fine-tuned id "${spec.candidate}" does not name an OpenAI chat model of catalog ${catalog.version} as its base (ft:<base>:<org>:<suffix>:<id>)`);
      else if (ftBase || chatModel(spec.candidate, `${at}.candidate`)) candidate = inferencePriceOf(catalog, spec.candidate);
    }
    const fineTuneBase = spec.fineTuneBase
      ? chatModel(spec.fineTuneBase, `${at}.fineTuneBase`)
      : candidate
        ? (fineTunedBase(catalog, candidate.id) ?? findModel(catalog, candidate.id) ?? null)
        : null;

    const shadow = { ...d.shadow, ...spec.shadow };
    const judgeModel = shadow.judgeModel ? chatModel(shadow.judgeModel, `${at}.shadow.judgeModel`) : null;
    if (shadow.scorer === "llm" && !shadow.judgeModel) issue(`${at}.shadow.judgeModel`, 'the "llm" scorer needs a judgeModel');
    if (spec.enabled && !spec.candidate && !spec.fineTuneBase) issue(`${at}.enabled`, "a use case can only be enabled for the switch with a candidate model or a fineTuneBase (the model `distill train` produces)");

    useCases.set(uc, {
      useCase: uc,
      capture: {
        enabled: c.enabled ?? d.capture.enabled,
        sampleRate: c.sampleRate ?? d.capture.sampleRate,
        frontierModels: frontierModels.map((m) => findModel(catalog, m)?.id ?? m),
        filters: { ...filters, rejectPhrases: filters.rejectPhrases.map((p) => p.toLowerCase()) },
        redaction: { email: r.email, phone: r.phone, phoneCountry: r.phoneCountry, card: r.card, iban: r.iban, custom },
      },
      candidate,
      fineTuneBase,
      shadow: { sampleRate: shadow.sampleRate, scorer: shadow.scorer, similarity: shadow.similarity, judgeModel },
      readiness: { ...d.readiness, ...spec.readiness },
      export: { ...d.export, ...spec.export },
      ramp: { ...d.ramp, ...spec.ramp },
      enabled: spec.enabled,
    });
  }
  if (issues.length > 0) throw new DistillPolicyError(`invalid distillation policy ${source}:\n${issues.join("\n")}`);
  return { source, useCases };
}

export function parseDistillPolicy(text: string, source: string, catalog: PriceCatalog): DistillPolicy {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new DistillPolicyError(`distillation policy ${source} is not valid YAML/JSON: ${err instanceof YAMLParseError ? err.message : String(err)}`, { cause: err });
  }
  return compileDistillPolicy(doc, source, catalog);
}

export function loadDistillPolicy(file: string, catalog: PriceCatalog): DistillPolicy {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new DistillPolicyError(`cannot read distillation policy ${file}: ${(err as Error).message} (set DISTILL_POLICY_FILE)`, { cause: err });
  }
  return parseDistillPolicy(text, file, catalog);
}

/** The policy with other candidates for some use cases (a model `train` produced, or one named on the command line). */
export function withCandidates(policy: DistillPolicy, candidates: ReadonlyMap<string, ModelPrice>): DistillPolicy {
  if (candidates.size === 0) return policy;
  const useCases = new Map([...policy.useCases].map(([k, uc]) => [k, candidates.has(k) ? { ...uc, candidate: candidates.get(k)! } : uc] as const));
  return { source: policy.source, useCases };
}
