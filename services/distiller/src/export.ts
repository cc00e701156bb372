import { createHash } from "node:crypto";
import { sql, sqlIdentifier } from "@costwise/infra";
import { FINE_TUNE_PRICES_CHECKED, fineTunePriceOf, nanoUsdToUsd, parseUsdPerMTok, type PriceCatalog } from "@costwise/pricing";
import { countChatTokens } from "@costwise/providers";
import type { Message } from "@costwise/schemas";
import { checkChatExample, OPENAI_MIN_EXAMPLES } from "./finetune-format.ts";
import type { UseCaseDistillPolicy } from "./policy.ts";
import { DISTILL_TABLES } from "./shadow.ts";

/** Runs one SELECT and returns its rows (JSONEachRow): the same shape as analytics' QueryFn. */
export type QueryFn = <T>(query: string) => Promise<T[]>;

export interface SampleRow {
  request_id: string;
  tenant: string;
  message_roles: string[];
  message_contents: string[];
  completion: string;
  prompt_hash: string;
  quality: number;
  has_quality: number;
  captured_at: string;
}

export interface Selection {
  readonly useCase: string;
  readonly tenant?: string | undefined;
  readonly since: Date;
}

/** The captured samples of a use case (deduplicated replays: FINAL), in a stable order. */
export async function fetchSamples(q: QueryFn, database: string, s: Selection): Promise<SampleRow[]> {
  const table = sqlIdentifier(`${database}.${DISTILL_TABLES.samples}`);
  const tenant = s.tenant === undefined ? "" : sql` AND tenant = ${s.tenant}`;
  return q<SampleRow>(
    sql`SELECT request_id, tenant, message_roles, message_contents, completion, prompt_hash, quality, has_quality, toString(captured_at) AS captured_at
      FROM ${table} FINAL WHERE use_case = ${s.useCase} AND ts >= ${s.since}` + tenant + " ORDER BY request_id",
  );
}

export interface Example {
  readonly requestId: string;
  readonly promptHash: string;
  readonly messages: readonly Message[];
  readonly tokens: number;
}

export interface ExportSet {
  readonly rows: number;
  readonly duplicates: number;
  readonly invalid: readonly { requestId: string; errors: readonly string[] }[];
  readonly train: readonly Example[];
  readonly validation: readonly Example[];
}

/** Position of a prompt in [0, 1) for the train/validation split: duplicates can never straddle it, and a prompt never changes side as data grows. */
export function splitBucket(promptHash: string): number {
  return createHash("sha256").update(`distill-split\u0000${promptHash}`).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Deduplicate by normalised prompt (keeping the answer with the best quality signal, then the
 * most recent), check every example against the OpenAI chat fine-tuning rules and split by a
 * hash of the prompt. Pure.
 */
export function buildExport(rows: readonly SampleRow[], opts: { validationFraction: number; maxExampleTokens: number; tokens: (messages: { role: string; content: string }[]) => number }): ExportSet {
  const best = new Map<string, SampleRow>();
  const better = (a: SampleRow, b: SampleRow) =>
    a.has_quality !== b.has_quality ? a.has_quality > b.has_quality : a.quality !== b.quality ? a.quality > b.quality : a.captured_at !== b.captured_at ? a.captured_at > b.captured_at : a.request_id < b.request_id;
  for (const r of rows) {
    const cur = best.get(r.prompt_hash);
    if (!cur || better(r, cur)) best.set(r.prompt_hash, r);
  }
  const invalid: { requestId: string; errors: readonly string[] }[] = [];
  const train: Example[] = [];
  const validation: Example[] = [];
  const kept = [...best.values()].sort((a, b) => (a.prompt_hash < b.prompt_hash ? -1 : a.prompt_hash > b.prompt_hash ? 1 : 0));
  for (const r of kept) {
    const messages: Message[] = r.message_roles.map((role, i) => ({ role, content: r.message_contents[i] ?? "" }));
    messages.push({ role: "assistant", content: r.completion });
    const line = JSON.stringify({ messages });
    const { errors } = checkChatExample(line, { maxTokens: opts.maxExampleTokens, tokens: opts.tokens });
    if (errors.length > 0) {
      invalid.push({ requestId: r.request_id, errors });
      continue;
    }
    const ex: Example = { requestId: r.request_id, promptHash: r.prompt_hash, messages, tokens: opts.tokens(messages) };
    (splitBucket(r.prompt_hash) < opts.validationFraction ? validation : train).push(ex);
  }
  return { rows: rows.length, duplicates: rows.length - best.size, invalid, train, validation };
}

/** OpenAI chat fine-tuning JSONL: one `{"messages":[…]}` per line, ending with the assistant's answer. */
export function toChatJsonl(examples: readonly Example[]): string {
  return examples.map((e) => `${JSON.stringify({ messages: e.messages })}\n`).join("");
}

/** Plain prompt/completion JSONL: the conversation before the answer as `role: content` blocks, then the answer. */
export function toPromptCompletionJsonl(examples: readonly Example[]): string {
  return examples
    .map((e) => {
      const prompt = e.messages.slice(0, -1).map((m) => `${m.role}: ${m.content}`).join("\n\n");
      return `${JSON.stringify({ prompt, completion: e.messages.at(-1)!.content })}\n`;
    })
    .join("");
}

export interface ExportSummary {
  readonly useCase: string;
  readonly tenant: string | null;
  readonly since: string;
  readonly capturedRows: number;
  readonly duplicates: number;
  readonly invalid: number;
  readonly invalidExamples: readonly { requestId: string; errors: readonly string[] }[];
  readonly train: { readonly examples: number; readonly tokens: number };
  readonly validation: { readonly examples: number; readonly tokens: number };
  /** The base model whose tokenizer counted the tokens and whose training price applies. */
  readonly model: string | null;
  readonly epochs: number;
  readonly trainingPricePerMTok: string | null;
  /** train tokens × epochs × training price (validation tokens are not billed). */
  readonly estimatedTrainingCostNanoUsd: number | null;
  readonly estimatedTrainingCostUsd: number | null;
  readonly priceSource: string;
  readonly warnings: readonly string[];
}

/** Integer nano-USD of `tokens` at a USD-per-million price, rounded half up once. */
export function tokensCostNanoUsd(tokens: number, usdPerMTok: string): number {
  const pico = BigInt(tokens) * parseUsdPerMTok(usdPerMTok);
  return Number((pico + 500n) / 1000n);
}

export function summarise(set: ExportSet, s: Selection, uc: UseCaseDistillPolicy, catalog: PriceCatalog): ExportSummary {
  const base = uc.fineTuneBase;
  const price = base ? fineTunePriceOf(catalog, base.id) : null;
  const sum = (xs: readonly Example[]) => xs.reduce((a, e) => a + e.tokens, 0);
  const trainTokens = sum(set.train);
  const cost = price ? tokensCostNanoUsd(trainTokens * uc.export.epochs, price.trainingPerMTok) : null;
  const warnings: string[] = [];
  if (set.train.length < OPENAI_MIN_EXAMPLES) warnings.push(`${set.train.length} training examples: OpenAI needs at least ${OPENAI_MIN_EXAMPLES} (50-100 good ones is its usual starting point)`);
  if (!base) warnings.push("no candidate or fineTuneBase in the policy: tokens counted with the default tokenizer, no cost estimate");
  else if (!price) warnings.push(`no fine-tuning price for ${base.id}: only OpenAI chat models can be fine-tuned`);
  return {
    useCase: s.useCase, tenant: s.tenant ?? null, since: s.since.toISOString(), capturedRows: set.rows, duplicates: set.duplicates,
    invalid: set.invalid.length, invalidExamples: set.invalid.slice(0, 5),
    train: { examples: set.train.length, tokens: trainTokens }, validation: { examples: set.validation.length, tokens: sum(set.validation) },
    model: base?.id ?? null, epochs: uc.export.epochs, trainingPricePerMTok: price?.trainingPerMTok ?? null,
    estimatedTrainingCostNanoUsd: cost, estimatedTrainingCostUsd: cost === null ? null : nanoUsdToUsd(cost),
    priceSource: price ? `${price.source === "published" ? `OpenAI fine-tuning prices checked ${FINE_TUNE_PRICES_CHECKED}` : price.source === "rule" ? "derived by rule from the base model's prices" : "override"} (@costwise/pricing fine-tuning.ts)` : "none",
    warnings,
  };
}


/** The export of a use case's fetched samples: tokens counted for its fine-tune base model, split, checked and summarised. */
export function exportUseCase(rows: readonly SampleRow[], sel: Selection, uc: UseCaseDistillPolicy, catalog: PriceCatalog): { set: ExportSet; summary: ExportSummary } {
  const model = uc.fineTuneBase?.id ?? "gpt-4o";
  const maxExampleTokens = (uc.fineTuneBase && fineTunePriceOf(catalog, uc.fineTuneBase.id)?.maxExampleTokens) || 65_536;
  const set = buildExport(rows, { validationFraction: uc.export.validationFraction, maxExampleTokens, tokens: (m) => countChatTokens(m, model) });
  return { set, summary: summarise(set, sel, uc, catalog) };
}
