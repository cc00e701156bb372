import { fineTunePriceOf, findModel, trainingCostNanoUsd, type PriceCatalog } from "@costwise/pricing";
import { DistillInputError } from "./errors.ts";
import { toChatJsonl, type ExportSet, type ExportSummary } from "./export.ts";
import type { FineTuneApi, FineTuneJobView } from "./finetune-api.ts";
import { OPENAI_MIN_EXAMPLES } from "./finetune-format.ts";
import { activeJob, TERMINAL, type JobRecord, type JobStore } from "./jobs.ts";
import type { UseCaseDistillPolicy } from "./policy.ts";

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
}
export const DEFAULT_BACKOFF: Backoff = { initialMs: 1_000, maxMs: 30_000, factor: 2 };

export interface TrainDeps {
  readonly api: FineTuneApi;
  readonly store: Pick<JobStore, "put" | "all">;
  readonly catalog: PriceCatalog;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Progress lines (one per status change). */
  readonly progress: (line: string) => void;
  readonly backoff?: Backoff;
}

export interface TrainRequest {
  readonly uc: UseCaseDistillPolicy;
  readonly tenant: string | null;
  /** Builds the export only when a new job is needed (a resumed job needs none). */
  readonly exportSet: () => Promise<{ set: ExportSet; summary: ExportSummary }>;
  /** Stop polling after this long (the job keeps running; a later `train` resumes it). */
  readonly waitMs: number;
  /** Start a new job even if one is unfinished. */
  readonly restart?: boolean;
  readonly signal?: AbortSignal;
}

export type TrainOutcome =
  | { readonly kind: "succeeded"; readonly job: JobRecord; readonly resumed: boolean }
  | { readonly kind: "waiting"; readonly job: JobRecord; readonly resumed: boolean };

/** The fine-tune base of a use case and its training price, or a clear error. */
export function trainingBase(uc: UseCaseDistillPolicy, catalog: PriceCatalog) {
  const base = uc.fineTuneBase;
  if (!base) throw new DistillInputError(`use case "${uc.useCase}" names no fineTuneBase (and its candidate is not a fine-tuned id): nothing to fine-tune`);
  const price = fineTunePriceOf(catalog, base.id);
  if (!price) throw new DistillInputError(`${base.id} cannot be fine-tuned: only OpenAI chat models can (Anthropic offers no fine-tuning API)`);
  return { base, price };
}

/** A suffix OpenAI accepts (letters, digits, '-', at most 40 characters here), naming the use case. */
export const suffixOf = (useCase: string) => useCase.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "costwise";

/** Apply one provider view of the job to its record: status, and on success the model and the training cost. */
export function applyView(rec: JobRecord, v: FineTuneJobView, catalog: PriceCatalog, now: number): JobRecord {
  const next: JobRecord = { ...rec, status: v.status, updatedAt: now, error: v.error };
  if (TERMINAL.has(v.status) && rec.finishedAt === null) next.finishedAt = now;
  if (v.status === "succeeded") {
    next.fineTunedModel = v.fineTunedModel;
    next.trainedTokens = v.trainedTokens;
    const price = fineTunePriceOf(catalog, rec.baseModel);
    next.trainingCostNanoUsd = price && v.trainedTokens !== null ? trainingCostNanoUsd(price, v.trainedTokens) : null;
  }
  return next;
}

/**
 * `costwise distill train`: resume the use case's unfinished job, or export, upload and create a
 * new one; store the job id at once; poll with exponential backoff until the job ends or `waitMs`
 * passes. A failed or cancelled job, or a result model the catalog cannot price, throws a
 * DistillInputError saying why (nothing can be switched to it).
 */
export async function runTrain(req: TrainRequest, deps: TrainDeps): Promise<TrainOutcome> {
  const { base, price } = trainingBase(req.uc, deps.catalog);
  const useCase = req.uc.useCase;
  let rec = req.restart ? null : activeJob(await deps.store.all(), useCase, req.tenant);
  const resumed = rec !== null;
  if (rec) {
    deps.progress(`resuming ${rec.jobId} (${rec.status}, created ${new Date(rec.createdAt).toISOString()})`);
  } else {
    const { set, summary } = await req.exportSet();
    if (set.train.length < OPENAI_MIN_EXAMPLES) {
      throw new DistillInputError(
        `${useCase}${req.tenant ? ` (tenant ${req.tenant})` : ""} has ${set.train.length} training example(s) after deduplication (${summary.capturedRows} captured, ${summary.duplicates} duplicates, ${summary.invalid} invalid): OpenAI needs at least ${OPENAI_MIN_EXAMPLES}; capture more (widen --since, raise capture.sampleRate) before training`,
      );
    }
    const name = `${req.tenant ? `${req.tenant}.` : ""}${useCase}`;
    const training = await deps.api.upload(`${name}.train.jsonl`, toChatJsonl(set.train), req.signal);
    const validation = set.validation.length > 0 ? await deps.api.upload(`${name}.validation.jsonl`, toChatJsonl(set.validation), req.signal) : null;
    const job = await deps.api.create(
      { model: base.id, trainingFile: training.id, validationFile: validation?.id ?? null, suffix: suffixOf(useCase), epochs: req.uc.export.epochs, metadata: { costwise_use_case: useCase, costwise_tenant: req.tenant ?? "" } },
      req.signal,
    );
    const now = deps.now();
    rec = applyView(
      {
        jobId: job.id, provider: "openai", useCase, tenant: req.tenant, baseModel: base.id, trainingFile: training.id, validationFile: validation?.id ?? null,
        epochs: req.uc.export.epochs, trainExamples: set.train.length, trainTokens: summary.train.tokens, estimatedCostNanoUsd: summary.estimatedTrainingCostNanoUsd ?? 0,
        trainPromptHashes: set.train.map((e) => e.promptHash), status: job.status, createdAt: now, updatedAt: now, finishedAt: null,
        fineTunedModel: null, trainedTokens: null, trainingCostNanoUsd: null, error: null,
      },
      job, deps.catalog, now,
    );
    // Stored before the first poll: a process that dies from here on leaves a job the next run resumes.
    await deps.store.put(rec);
    deps.progress(`created ${job.id} on ${base.id}: ${set.train.length} training examples, ${summary.train.tokens.toLocaleString("en-US")} tokens × ${req.uc.export.epochs} epochs at $${price.trainingPerMTok}/1M (${price.source})`);
  }

  const backoff = deps.backoff ?? DEFAULT_BACKOFF;
  const deadline = deps.now() + req.waitMs;
  let delay = backoff.initialMs;
  let last = rec.status;
  while (!TERMINAL.has(rec.status)) {
    const left = deadline - deps.now();
    if (left <= 0) return { kind: "waiting", job: rec, resumed };
    await deps.sleep(Math.min(delay, left), req.signal);
    delay = Math.min(backoff.maxMs, Math.round(delay * backoff.factor));
    rec = applyView(rec, await deps.api.retrieve(rec.jobId, req.signal), deps.catalog, deps.now());
    await deps.store.put(rec);
    if (rec.status !== last) {
      deps.progress(`${rec.jobId}: ${last} → ${rec.status}`);
      last = rec.status;
    }
  }
  if (rec.status === "failed") {
    const events = await deps.api.events(rec.jobId, 5, req.signal).catch(() => []);
    const why = rec.error ? `${rec.error.code}: ${rec.error.message}` : (events.find((e) => e.level === "error")?.message ?? "no reason given");
    throw new DistillInputError(`fine-tuning job ${rec.jobId} failed (${why}); nothing to switch to`);
  }
  if (rec.status === "cancelled") throw new DistillInputError(`fine-tuning job ${rec.jobId} was cancelled; nothing to switch to`);
  if (!rec.fineTunedModel) throw new DistillInputError(`fine-tuning job ${rec.jobId} succeeded without a model id`);
  const priced = findModel(deps.catalog, rec.fineTunedModel);
  if (!priced || priced.kind !== "chat") {
    throw new DistillInputError(`fine-tuned model ${rec.fineTunedModel} cannot be priced from catalog ${deps.catalog.version} (its base is unknown): it cannot be evaluated or switched to`);
  }
  return { kind: "succeeded", job: rec, resumed };
}

/** Cancel the use case's unfinished job. */
export async function cancelTrain(uc: UseCaseDistillPolicy, tenant: string | null, deps: Pick<TrainDeps, "api" | "store" | "catalog" | "now">, signal?: AbortSignal): Promise<JobRecord> {
  const rec = activeJob(await deps.store.all(), uc.useCase, tenant);
  if (!rec) throw new DistillInputError(`${uc.useCase}${tenant ? ` (tenant ${tenant})` : ""} has no unfinished fine-tuning job`);
  const next = applyView(rec, await deps.api.cancel(rec.jobId, signal), deps.catalog, deps.now());
  await deps.store.put(next);
  return next;
}
