import { z } from "zod";
import { openAiError } from "./errors.ts";
import type { FileStore, StoredFile } from "./files.ts";
import { randomId, stableStringify } from "./hash.ts";
import { cappedReply } from "./recorded.ts";
import type { Tokenizer } from "./tokens.ts";

/*
 * OpenAI supervised fine-tuning (`/v1/fine_tuning/jobs`), emulated. A job's status is a pure
 * function of time, like a batch's: validating_files → queued → running → succeeded, or failed
 * (the training or validation file is invalid or too small, found while validating), or
 * cancelled. Phase durations are the `fineTuning` timing in force when the job was created.
 *
 * The resulting model `ft:<base snapshot>:<org>:<suffix>:<id>` is served on chat completions once
 * the job succeeded: a prompt it was trained on gets the trained answer (a fine-tuned model
 * reproduces its training targets), any other prompt an answer of its own (the emulator's usual
 * generation, seeded by the fine-tuned model's id).
 */

export const FineTuningTimingSchema = z.object({
  validatingMs: z.number().int().nonnegative().default(1_000),
  queuedMs: z.number().int().nonnegative().default(1_000),
  runningMs: z.number().int().nonnegative().default(8_000),
});
export type FineTuningTiming = z.infer<typeof FineTuningTimingSchema>;

/** Base models OpenAI fine-tunes (supervised), alias → the snapshot a job reports. */
export const FINE_TUNABLE: Readonly<Record<string, string>> = {
  "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
  "gpt-4o-mini-2024-07-18": "gpt-4o-mini-2024-07-18",
  "gpt-4o": "gpt-4o-2024-08-06",
  "gpt-4o-2024-08-06": "gpt-4o-2024-08-06",
  "gpt-4.1": "gpt-4.1-2025-04-14",
  "gpt-4.1-2025-04-14": "gpt-4.1-2025-04-14",
  "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
  "gpt-4.1-mini-2025-04-14": "gpt-4.1-mini-2025-04-14",
  "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
  "gpt-4.1-nano-2025-04-14": "gpt-4.1-nano-2025-04-14",
};

export const MIN_TRAINING_EXAMPLES = 10;
const MAX_EXAMPLE_TOKENS = 65_536;
export const EMULATOR_ORG = "emulator";
const ROLES = new Set(["system", "developer", "user", "assistant"]);

const CreateSchema = z
  .object({
    model: z.string().min(1),
    training_file: z.string().min(1),
    validation_file: z.string().min(1).nullish(),
    suffix: z.string().max(64).nullish(),
    seed: z.number().int().nullish(),
    metadata: z.record(z.string().max(512)).nullish(),
    hyperparameters: z.object({ n_epochs: z.union([z.literal("auto"), z.number().int().min(1).max(50)]).optional() }).passthrough().nullish(),
    method: z
      .object({
        type: z.enum(["supervised", "dpo", "reinforcement"]),
        supervised: z.object({ hyperparameters: z.object({ n_epochs: z.union([z.literal("auto"), z.number().int().min(1).max(50)]).optional() }).passthrough().optional() }).passthrough().optional(),
      })
      .passthrough()
      .nullish(),
  })
  .passthrough();

interface Example {
  /** Key of the conversation before the trained answer. */
  prompt: string;
  answer: string;
  tokens: number;
}

type Parsed = { ok: true; examples: Example[] } | { ok: false; code: string; message: string };

interface Job {
  id: string;
  createdAt: number;
  model: string;
  trainingFile: string;
  validationFile: string | null;
  suffix: string | null;
  seed: number;
  epochs: number | "auto";
  metadata: Record<string, string> | null;
  timing: FineTuningTiming;
  training: Parsed;
  validationError: { code: string; message: string; param: string } | null;
  cancelledAt: number | null;
  fineTunedModel: string;
  resultFile: string | null;
}

export type FineTuningStatus = "validating_files" | "queued" | "running" | "succeeded" | "failed" | "cancelled";

/** The prompt key a chat request and a training example share: the messages before the answer, roles and text. */
export function promptKey(messages: readonly { role: string; content?: unknown }[]): string {
  return stableStringify(messages.map((m) => [m.role === "developer" ? "system" : m.role, typeof m.content === "string" ? m.content.trim() : stableStringify(m.content ?? "")]));
}

/** OpenAI's "auto" epochs: 3, raised for small sets (toward 100 example passes) and lowered for large ones (toward 25,000), within 1..25. */
export function autoEpochs(examples: number): number {
  if (examples * 3 < 100) return Math.min(25, Math.floor(100 / examples));
  if (examples * 3 > 25_000) return Math.max(1, Math.floor(25_000 / examples));
  return 3;
}

/** Parse a chat fine-tuning JSONL file the way OpenAI's validation step checks it. */
export function parseTrainingFile(content: Buffer, tokenizer: Tokenizer): Parsed {
  const lines = content.toString("utf8").split("\n").filter((l) => l.trim() !== "");
  const examples: Example[] = [];
  const bad = (i: number, why: string): Parsed => ({ ok: false, code: "invalid_training_file", message: `The job failed due to an invalid training file. Invalid file format. Line ${i + 1}: ${why}` });
  for (const [i, line] of lines.entries()) {
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      return bad(i, "is not valid JSON.");
    }
    const messages = (doc as { messages?: unknown } | null)?.messages;
    if (!Array.isArray(messages) || messages.length === 0) return bad(i, "has no 'messages' array.");
    let tokens = 3;
    for (const m of messages as { role?: unknown; content?: unknown }[]) {
      if (typeof m !== "object" || m === null || typeof m.role !== "string" || !ROLES.has(m.role)) return bad(i, "a message has no valid 'role'.");
      if (typeof m.content !== "string" || m.content.length === 0) return bad(i, "a message has no text 'content'.");
      tokens += 3 + tokenizer.count(m.role) + tokenizer.count(m.content);
    }
    const last = messages[messages.length - 1] as { role: string; content: string };
    if (last.role !== "assistant") return bad(i, "the last message must be the assistant's answer.");
    if (tokens > MAX_EXAMPLE_TOKENS) return bad(i, `the example has ${tokens} tokens, over the limit of ${MAX_EXAMPLE_TOKENS}.`);
    examples.push({ prompt: promptKey(messages.slice(0, -1) as { role: string; content: string }[]), answer: last.content, tokens });
  }
  if (examples.length < MIN_TRAINING_EXAMPLES) {
    return { ok: false, code: "invalid_n_examples", message: `Training file has ${examples.length} example(s), but must have at least ${MIN_TRAINING_EXAMPLES} examples` };
  }
  return { ok: true, examples };
}

interface Phase {
  status: FineTuningStatus;
  finishedAt: number | null;
}

function phaseOf(job: Job, now: number): Phase {
  const validated = job.createdAt + job.timing.validatingMs;
  const started = validated + job.timing.queuedMs;
  const done = started + job.timing.runningMs;
  if (job.cancelledAt !== null) return { status: "cancelled", finishedAt: job.cancelledAt };
  if (now < validated) return { status: "validating_files", finishedAt: null };
  if (!job.training.ok || job.validationError) return { status: "failed", finishedAt: validated };
  if (now < started) return { status: "queued", finishedAt: null };
  if (now < done) return { status: "running", finishedAt: null };
  return { status: "succeeded", finishedAt: done };
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** One served fine-tuned model: its base and the answers it was trained on. */
export interface ServedModel {
  readonly base: string;
  readonly answers: ReadonlyMap<string, string>;
}

/** Bounded in-memory fine-tuning jobs over the emulator's file store. */
export class FineTuningStore {
  private readonly jobs = new Map<string, Job>();
  private readonly served = new Map<string, ServedModel>();

  constructor(private readonly deps: { files: FileStore; tokenizer: Tokenizer; maxJobs: number }) {}

  create(body: unknown, timing: FineTuningTiming, now: number) {
    const raw = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    for (const p of ["model", "training_file"]) {
      if (raw[p] === undefined || raw[p] === null) throw openAiError(400, `Missing required parameter: '${p}'.`, { param: p, code: "missing_required_parameter" });
    }
    const parsed = CreateSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const param = issue.path.join(".");
      throw openAiError(400, `Invalid '${param}': ${issue.message}.`, { param, code: "invalid_value" });
    }
    const req = parsed.data;
    const model = FINE_TUNABLE[req.model];
    if (!model) throw openAiError(400, `Model ${req.model} is not available for fine-tuning or does not exist.`, { param: "model", code: "model_not_available" });
    if (req.method && req.method.type !== "supervised") throw openAiError(400, `The emulator fine-tunes with method 'supervised' only, not '${req.method.type}'.`, { param: "method.type", code: "invalid_value" });
    const training = this.fineTuneFile(req.training_file, "training_file");
    const validation = req.validation_file ? this.fineTuneFile(req.validation_file, "validation_file") : null;
    if (this.jobs.size >= this.deps.maxJobs) throw openAiError(429, `Too many fine-tuning jobs (limit ${this.deps.maxJobs}).`, { type: "rate_limit_error", code: "rate_limit_exceeded" });
    const id = randomId("ftjob-", 24);
    const parsedTraining = parseTrainingFile(training.content, this.deps.tokenizer);
    let validationError: Job["validationError"] = null;
    if (validation) {
      const v = parseTrainingFile(validation.content, this.deps.tokenizer);
      // A validation file may be small: only its format is checked.
      if (!v.ok && v.code !== "invalid_n_examples") validationError = { code: "invalid_validation_file", message: v.message.replace("training file", "validation file"), param: "validation_file" };
    }
    const job: Job = {
      id, createdAt: now, model, trainingFile: training.id, validationFile: validation?.id ?? null, suffix: req.suffix ?? null, seed: req.seed ?? (now % 2_147_483_647),
      epochs: req.method?.supervised?.hyperparameters?.n_epochs ?? req.hyperparameters?.n_epochs ?? "auto", metadata: req.metadata ?? null, timing: { ...timing },
      training: parsedTraining, validationError, cancelledAt: null, fineTunedModel: `ft:${model}:${EMULATOR_ORG}:${req.suffix ?? ""}:${id.slice(6, 14)}`, resultFile: null,
    };
    this.jobs.set(id, job);
    return this.view(job, now);
  }

  retrieve(id: string, now: number) {
    return this.view(this.get(id), now);
  }

  list(opts: { after?: string | undefined; limit?: number | undefined }, now: number) {
    const all = [...this.jobs.values()].reverse();
    const start = opts.after ? all.findIndex((j) => j.id === opts.after) + 1 : 0;
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 100);
    const page = all.slice(start, start + limit);
    return { object: "list", data: page.map((j) => this.view(j, now)), has_more: start + limit < all.length };
  }

  cancel(id: string, now: number) {
    const job = this.get(id);
    const { status } = phaseOf(job, now);
    if (status === "succeeded" || status === "failed" || status === "cancelled") {
      throw openAiError(400, `Job ${id} has already ${status === "succeeded" ? "completed" : status}: it cannot be cancelled.`, { param: "fine_tuning_job_id" });
    }
    job.cancelledAt = now;
    return this.view(job, now);
  }

  /** Events, newest first, as the API lists them. */
  events(id: string, opts: { after?: string | undefined; limit?: number | undefined }, now: number) {
    const job = this.get(id);
    const all = this.timeline(job, now).reverse();
    const start = opts.after ? all.findIndex((e) => e.id === opts.after) + 1 : 0;
    const limit = Math.min(Math.max(opts.limit ?? 20, 1), 100);
    return { object: "list", data: all.slice(start, start + limit), has_more: start + limit < all.length };
  }

  /** The fine-tuned model, once its job succeeded. */
  model(id: string, now: number): ServedModel | undefined {
    for (const job of this.jobs.values()) this.view(job, now);
    return this.served.get(id);
  }

  servedModels(now: number): string[] {
    for (const job of this.jobs.values()) this.view(job, now);
    return [...this.served.keys()];
  }

  get size(): number {
    return this.jobs.size;
  }

  clear(): void {
    this.jobs.clear();
    this.served.clear();
  }

  /** A trained answer for the prompt, under the request's output cap. */
  trainedReply(model: ServedModel, messages: readonly { role: string; content?: unknown }[], cap: number | undefined) {
    const answer = model.answers.get(promptKey(messages));
    return answer === undefined ? null : cappedReply(answer, cap, this.deps.tokenizer);
  }

  private get(id: string): Job {
    const job = this.jobs.get(id);
    if (!job) throw openAiError(404, `No fine-tuning job found with id ${id}`, { param: "fine_tuning_job_id", code: "fine_tune_not_found" });
    return job;
  }

  private fineTuneFile(id: string, param: string): StoredFile {
    const file = this.deps.files.get(id);
    if (!file) throw openAiError(400, `invalid ${param}: ${id}`, { param, code: "invalid_file" });
    if (file.purpose !== "fine-tune") throw openAiError(400, `File ${id} has purpose '${file.purpose}': a ${param} must be uploaded with purpose 'fine-tune'.`, { param, code: "invalid_file_purpose" });
    return file;
  }

  private epochsOf(job: Job): number {
    return job.epochs === "auto" ? autoEpochs(job.training.ok ? job.training.examples.length : MIN_TRAINING_EXAMPLES) : job.epochs;
  }

  private view(job: Job, now: number) {
    const phase = phaseOf(job, now);
    const succeeded = phase.status === "succeeded";
    if (succeeded && job.training.ok && !this.served.has(job.fineTunedModel)) {
      this.served.set(job.fineTunedModel, { base: job.model, answers: new Map(job.training.examples.map((e) => [e.prompt, e.answer])) });
      const csv = ["step,train_loss,train_accuracy", ...Array.from({ length: 10 }, (_, i) => `${i + 1},${(2 / (i + 2)).toFixed(4)},${(0.5 + i / 20).toFixed(4)}`)].join("\n");
      job.resultFile = this.deps.files.add({ filename: "step_metrics.csv", purpose: "fine-tune-results", content: Buffer.from(`${csv}\n`) }, phase.finishedAt!).id;
    }
    const failed = phase.status === "failed";
    const error = !failed ? null : !job.training.ok ? { code: job.training.code, message: job.training.message, param: "training_file" } : job.validationError;
    const epochs = this.epochsOf(job);
    const running = phase.status === "running";
    return {
      object: "fine_tuning.job" as const,
      id: job.id,
      created_at: seconds(job.createdAt),
      error,
      fine_tuned_model: succeeded ? job.fineTunedModel : null,
      finished_at: phase.finishedAt === null ? null : seconds(phase.finishedAt),
      hyperparameters: { n_epochs: epochs, batch_size: 1, learning_rate_multiplier: 1.8 },
      method: { type: "supervised" as const, supervised: { hyperparameters: { n_epochs: epochs, batch_size: 1, learning_rate_multiplier: 1.8 } } },
      model: job.model,
      organization_id: `org-${EMULATOR_ORG}`,
      result_files: job.resultFile ? [job.resultFile] : [],
      seed: job.seed,
      status: phase.status,
      trained_tokens: succeeded && job.training.ok ? job.training.examples.reduce((a, e) => a + e.tokens, 0) * epochs : null,
      training_file: job.trainingFile,
      validation_file: job.validationFile,
      estimated_finish: running ? seconds(job.createdAt + job.timing.validatingMs + job.timing.queuedMs + job.timing.runningMs) : null,
      integrations: [],
      metadata: job.metadata,
      user_provided_suffix: job.suffix,
    };
  }

  private timeline(job: Job, now: number) {
    const phase = phaseOf(job, now);
    const out: { object: "fine_tuning.job.event"; id: string; created_at: number; level: "info" | "warn" | "error"; message: string; data: unknown; type: "message" | "metrics" }[] = [];
    const at = (ms: number, message: string, level: "info" | "warn" | "error" = "info", data: unknown = {}, type: "message" | "metrics" = "message") =>
      out.push({ object: "fine_tuning.job.event", id: `ftevent-${job.id.slice(6)}${String(out.length).padStart(4, "0")}`, created_at: seconds(ms), level, message, data, type });
    const validated = job.createdAt + job.timing.validatingMs;
    const started = validated + job.timing.queuedMs;
    const stop = phase.finishedAt ?? now;
    at(job.createdAt, `Validating training file: ${job.trainingFile}${job.validationFile ? ` and validation file: ${job.validationFile}` : ""}`);
    if (phase.status === "failed") {
      const e = !job.training.ok ? job.training.message : job.validationError!.message;
      at(validated, e, "error");
      return out;
    }
    if (stop >= validated) at(validated, "Files validated, moving job to queued state");
    if (stop >= started) at(started, "Fine-tuning job started");
    const steps = job.training.ok ? job.training.examples.length * this.epochsOf(job) : 0;
    const shown = Math.min(steps, 20);
    for (let k = 1; k <= shown; k++) {
      const t = started + (job.timing.runningMs * k) / shown;
      const step = Math.round((steps * k) / shown);
      if (t > stop || (t === stop && phase.status !== "succeeded")) break;
      at(t, `Step ${step}/${steps}: training loss=${(2 / (k + 1)).toFixed(2)}`, "info", { step, train_loss: 2 / (k + 1), total_steps: steps }, "metrics");
    }
    if (phase.status === "succeeded") {
      at(stop, `New fine-tuned model created: ${job.fineTunedModel}`);
      at(stop, "The job has successfully completed");
    }
    if (phase.status === "cancelled") at(stop, "Fine-tuning job cancelled");
    return out;
  }
}
