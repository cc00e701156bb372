import OpenAI, { toFile } from "openai";
import type { JobStatus } from "./jobs.ts";

/** What `train` needs of a provider's fine-tuning API (OpenAI's files + fine_tuning.jobs). */
export interface FineTuneApi {
  upload(filename: string, jsonl: string, signal?: AbortSignal): Promise<{ id: string }>;
  create(p: { model: string; trainingFile: string; validationFile: string | null; suffix: string; epochs: number; metadata: Record<string, string> }, signal?: AbortSignal): Promise<FineTuneJobView>;
  retrieve(jobId: string, signal?: AbortSignal): Promise<FineTuneJobView>;
  cancel(jobId: string, signal?: AbortSignal): Promise<FineTuneJobView>;
  /** The newest events, newest first. */
  events(jobId: string, limit: number, signal?: AbortSignal): Promise<readonly { message: string; level: string }[]>;
}

export interface FineTuneJobView {
  readonly id: string;
  readonly status: JobStatus;
  readonly model: string;
  readonly fineTunedModel: string | null;
  readonly trainedTokens: number | null;
  readonly error: { readonly code: string; readonly message: string } | null;
}

const view = (j: OpenAI.FineTuning.FineTuningJob): FineTuneJobView => ({
  id: j.id, status: j.status, model: j.model, fineTunedModel: j.fine_tuned_model, trainedTokens: j.trained_tokens,
  error: j.error && (j.error.code || j.error.message) ? { code: j.error.code, message: j.error.message } : null,
});

/**
 * The OpenAI SDK's fine-tuning API. Every call has a deadline (`timeoutMs`, the SDK's own per
 * request timeout) and the SDK's bounded retries of transient errors; the caller's signal aborts.
 */
export function openAiFineTuneApi(client: OpenAI, opts: { timeoutMs: number; maxRetries?: number }): FineTuneApi {
  const o = (signal?: AbortSignal) => ({ timeout: opts.timeoutMs, maxRetries: opts.maxRetries ?? 2, ...(signal ? { signal } : {}) });
  return {
    async upload(filename, jsonl, signal) {
      const f = await client.files.create({ file: await toFile(Buffer.from(jsonl, "utf8"), filename), purpose: "fine-tune" }, o(signal));
      return { id: f.id };
    },
    async create(p, signal) {
      return view(
        await client.fineTuning.jobs.create(
          {
            model: p.model, training_file: p.trainingFile, ...(p.validationFile ? { validation_file: p.validationFile } : {}), suffix: p.suffix, metadata: p.metadata,
            method: { type: "supervised", supervised: { hyperparameters: { n_epochs: p.epochs } } },
          },
          o(signal),
        ),
      );
    },
    async retrieve(jobId, signal) {
      return view(await client.fineTuning.jobs.retrieve(jobId, o(signal)));
    },
    async cancel(jobId, signal) {
      return view(await client.fineTuning.jobs.cancel(jobId, o(signal)));
    },
    async events(jobId, limit, signal) {
      const page = await client.fineTuning.jobs.listEvents(jobId, { limit }, o(signal));
      return page.data.map((e) => ({ message: e.message, level: e.level }));
    },
  };
}
