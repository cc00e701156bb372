import { z } from "zod";
import { FineTuningTimingSchema } from "./fine-tuning.ts";

export const DEFAULT_OPENAI_CHAT_MODELS: readonly string[] = [
  "gpt-6.1-sol",
  "gpt-6.1-terra",
  "gpt-6-luna",
  "gpt-5",
  "gpt-5-2025-08-07",
  "gpt-5-mini",
  "gpt-5-mini-2025-08-07",
  "gpt-5-nano",
  "gpt-5-nano-2025-08-07",
  "gpt-4.1",
  "gpt-4.1-2025-04-14",
  "gpt-4.1-mini",
  "gpt-4.1-mini-2025-04-14",
  "gpt-4.1-nano",
  "gpt-4.1-nano-2025-04-14",
  "gpt-4o",
  "gpt-4o-2024-08-06",
  "gpt-4o-2024-11-20",
  "gpt-4o-mini",
  "gpt-4o-mini-2024-07-18",
  "o4-mini",
  "o4-mini-2025-04-16",
  "o3",
  "o3-2025-04-16",
];

export const DEFAULT_ANTHROPIC_MODELS: readonly string[] = [
  "claude-opus-5-5",
  "claude-sonnet-5-5",
  "claude-opus-4-5",
  "claude-opus-4-5-20251101",
  "claude-opus-4-1",
  "claude-opus-4-1-20250805",
  "claude-sonnet-4-5",
  "claude-sonnet-4-5-20250929",
  "claude-sonnet-4-0",
  "claude-sonnet-4",
  "claude-sonnet-4-20250514",
  "claude-haiku-4-5",
  "claude-haiku-4-5-20251001",
  "claude-3-5-haiku-latest",
  "claude-3-5-haiku-20241022",
];

/** Embedding model → native dimensions. */
export const DEFAULT_EMBEDDING_MODELS: Readonly<Record<string, number>> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536,
};

const nonNegativeMs = z.number().int().nonnegative();

export const BatchTimingSchema = z.object({
  validatingMs: nonNegativeMs.default(1_000),
  inProgressMs: nonNegativeMs.default(4_000),
  finalizingMs: nonNegativeMs.default(1_000),
  /** When true, batches run out of time: half of the requests finish, the rest expire. */
  expire: z.boolean().default(false),
  /** Probability that a single batch line fails with a server error. */
  lineErrorRate: z.number().min(0).max(1).default(0),
});
export type BatchTiming = z.infer<typeof BatchTimingSchema>;

export const RuntimeConfigSchema = z.object({
  ttftMs: nonNegativeMs.default(0),
  perOutputTokenMs: z.number().nonnegative().default(0),
  /** How long a "timeout" fault holds a request before answering 504. */
  timeoutMs: nonNegativeMs.default(60_000),
  batch: BatchTimingSchema.default({}),
  /**
   * Share of prompts (0..1, chosen by a hash of the prompt) that every model answers identically,
   * as models agree on routine requests; the rest get model-specific answers. 0 = models never agree.
   */
  modelAgreement: z.number().min(0).max(1).default(0),
  /** Phase durations of fine-tuning jobs created from now on (validating_files, queued, running). */
  fineTuning: FineTuningTimingSchema.default({}),
});
export type RuntimeConfig = z.infer<typeof RuntimeConfigSchema>;

/** Partial update accepted by `POST /_emulator/config`. */
export const RuntimeConfigPatchSchema = z
  .object({
    ttftMs: nonNegativeMs,
    perOutputTokenMs: z.number().nonnegative(),
    timeoutMs: nonNegativeMs,
    batch: BatchTimingSchema.partial().strict(),
    modelAgreement: z.number().min(0).max(1),
    fineTuning: FineTuningTimingSchema.partial().strict(),
  })
  .partial()
  .strict();
export type RuntimeConfigPatch = z.infer<typeof RuntimeConfigPatchSchema>;

export function applyConfigPatch(config: RuntimeConfig, patch: RuntimeConfigPatch): RuntimeConfig {
  return {
    ttftMs: patch.ttftMs ?? config.ttftMs,
    perOutputTokenMs: patch.perOutputTokenMs ?? config.perOutputTokenMs,
    timeoutMs: patch.timeoutMs ?? config.timeoutMs,
    batch: { ...config.batch, ...stripUndefined(patch.batch ?? {}) },
    modelAgreement: patch.modelAgreement ?? config.modelAgreement,
    fineTuning: { ...config.fineTuning, ...stripUndefined(patch.fineTuning ?? {}) },
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export const EmulatorOptionsSchema = z.object({
  host: z.string().default("127.0.0.1"),
  port: z.number().int().min(0).max(65_535).default(0),
  openAiModels: z.array(z.string().min(1)).default([...DEFAULT_OPENAI_CHAT_MODELS]),
  anthropicModels: z.array(z.string().min(1)).default([...DEFAULT_ANTHROPIC_MODELS]),
  embeddingModels: z.record(z.number().int().positive()).default({ ...DEFAULT_EMBEDDING_MODELS }),
  ttftMs: nonNegativeMs.default(0),
  perOutputTokenMs: z.number().nonnegative().default(0),
  timeoutMs: nonNegativeMs.default(60_000),
  batch: BatchTimingSchema.default({}),
  modelAgreement: z.number().min(0).max(1).default(0),
  fineTuning: FineTuningTimingSchema.default({}),
  /** Seed for every random choice (fault rates, batch result order, injected line errors). */
  seed: z.number().int().default(0x5eed),
  limits: z
    .object({
      /** Distinct prompt prefixes remembered per provider for prompt-cache emulation. */
      promptCacheEntries: z.number().int().positive().default(200_000),
      /** OpenAI keeps cached prefixes for 5–10 minutes of inactivity. */
      openAiCacheTtlMs: z.number().int().positive().default(10 * 60_000),
      tokenizerCacheTokens: z.number().int().positive().default(4_000_000),
      maxBatches: z.number().int().positive().default(1_000),
      maxFineTuningJobs: z.number().int().positive().default(1_000),
      maxStoredFileBytes: z.number().int().positive().default(1024 * 1024 * 1024),
      openAiBatchMaxRequests: z.number().int().positive().default(50_000),
      openAiBatchMaxFileBytes: z.number().int().positive().default(200 * 1024 * 1024),
      anthropicBatchMaxRequests: z.number().int().positive().default(100_000),
      anthropicBatchMaxBytes: z.number().int().positive().default(256 * 1024 * 1024),
      chatBodyBytes: z.number().int().positive().default(64 * 1024 * 1024),
    })
    .default({}),
});
export type EmulatorOptionsData = z.input<typeof EmulatorOptionsSchema>;
export type ParsedEmulatorOptions = z.infer<typeof EmulatorOptionsSchema>;

export function runtimeConfigFromOptions(options: ParsedEmulatorOptions): RuntimeConfig {
  return {
    ttftMs: options.ttftMs,
    perOutputTokenMs: options.perOutputTokenMs,
    timeoutMs: options.timeoutMs,
    batch: { ...options.batch },
    modelAgreement: options.modelAgreement,
    fineTuning: { ...options.fineTuning },
  };
}

/** Models that reason before answering; the API rejects `max_tokens` and non-default temperature for them. */
export function isOpenAiReasoningModel(model: string): boolean {
  return /^(gpt-[56](?!-chat)|o\d)/.test(model);
}

/** Context window (prompt + output) of an OpenAI model family, or undefined when unknown. */
export function openAiContextWindow(model: string): number | undefined {
  if (model.startsWith("gpt-6")) return 1_050_000;
  // A fine-tuned model (ft:<base>:…) has its base model's window.
  if (model.startsWith("ft:")) return openAiContextWindow(model.split(":")[1] ?? "");
  if (model.startsWith("gpt-4.1")) return 1_047_576;
  if (model.startsWith("gpt-5")) return 400_000;
  if (model.startsWith("gpt-4o")) return 128_000;
  if (/^o\d/.test(model)) return 200_000;
  return undefined;
}

/** Largest `max_tokens` an Anthropic model accepts, or undefined when unknown. */
export function anthropicMaxOutputTokens(model: string): number | undefined {
  if (model.startsWith("claude-opus-5") || model.startsWith("claude-sonnet-5")) return 128_000;
  if (model.startsWith("claude-opus-4")) return 32_000;
  if (model.startsWith("claude-sonnet-4") || model.startsWith("claude-haiku-4")) return 64_000;
  if (model.startsWith("claude-3-5-haiku")) return 8_192;
  return undefined;
}

/** Shortest prompt prefix Anthropic will cache for a model (shorter prefixes are silently not cached). */
export function anthropicMinCacheableTokens(model: string): number {
  if (model.startsWith("claude-haiku-4-5")) return 4_096;
  if (model.startsWith("claude-3-5-haiku") || model.startsWith("claude-3-haiku")) return 2_048;
  return 1_024;
}
