import type { AnthropicErrorObject, OpenAiErrorObject } from "./errors.ts";
import { ProviderHttpError } from "./errors.ts";
import { createMessage, parseMessageRequest, type MessageRequest } from "./anthropic-messages.ts";
import { AnthropicBatchStore } from "./anthropic-batches.ts";
import { runtimeConfigFromOptions, type ParsedEmulatorOptions, type RuntimeConfig } from "./config.ts";
import { createEmbeddings, parseEmbeddingRequest, type EmbeddingRequest } from "./embeddings.ts";
import { FaultInjector } from "./faults.ts";
import { FileStore } from "./files.ts";
import { FineTuningStore } from "./fine-tuning.ts";
import { createChatCompletion, parseChatRequest, type ChatRequest } from "./openai-chat.ts";
import { OpenAiBatchStore, type OpenAiBatchEndpoint } from "./openai-batches.ts";
import { AnthropicPromptCache, OpenAiPrefixCache } from "./prompt-cache.ts";
import { RecordedAnswers } from "./recorded.ts";
import { Stats } from "./stats.ts";
import { Tokenizer } from "./tokens.ts";

/** Everything the emulator remembers, bounded, in memory. */
export interface EmulatorState {
  readonly options: ParsedEmulatorOptions;
  /** Latency, timeout and batch timing in force (changed by `POST /_emulator/config`). */
  config: RuntimeConfig;
  readonly openAiModels: ReadonlySet<string>;
  readonly anthropicModels: ReadonlySet<string>;
  readonly tokenizer: Tokenizer;
  readonly openAiCache: OpenAiPrefixCache;
  readonly anthropicCache: AnthropicPromptCache;
  readonly files: FileStore;
  readonly openAiBatches: OpenAiBatchStore;
  readonly anthropicBatches: AnthropicBatchStore;
  /** Fine-tuning jobs and the fine-tuned models they produced. */
  readonly fineTuning: FineTuningStore;
  readonly faults: FaultInjector;
  readonly stats: Stats;
  /** Ground truth loaded by `POST /_emulator/recorded` (recorded-answer mode); empty = normal emulation. */
  readonly recorded: RecordedAnswers;
  now(): number;
  /** Forgets caches, files, batches, faults and stats, and restores the initial config. */
  reset(): void;
}

function openAiErrorOf(error: unknown): { status: number; error: OpenAiErrorObject } | null {
  if (error instanceof ProviderHttpError && "param" in error.body.error) return { status: error.statusCode, error: error.body.error };
  return null;
}

function anthropicErrorOf(error: unknown): AnthropicErrorObject | null {
  if (error instanceof ProviderHttpError && "type" in error.body && error.body.type === "error") return error.body.error;
  return null;
}

export function createEmulatorState(options: ParsedEmulatorOptions, clock: () => number = Date.now): EmulatorState {
  const { limits } = options;
  const tokenizer = new Tokenizer({ maxCachedTokens: limits.tokenizerCacheTokens });
  const openAiModels = new Set(options.openAiModels);
  const anthropicModels = new Set(options.anthropicModels);
  const files = new FileStore(limits.maxStoredFileBytes);
  const recorded = new RecordedAnswers();
  const openAiBatches = new OpenAiBatchStore({
    files,
    maxBatches: limits.maxBatches,
    maxRequests: limits.openAiBatchMaxRequests,
    maxFileBytes: limits.openAiBatchMaxFileBytes,
    seed: options.seed,
    executor: {
      prepare(endpoint: OpenAiBatchEndpoint, body) {
        try {
          const request = endpoint === "/v1/chat/completions" ? parseChatRequest(body, openAiModels) : parseEmbeddingRequest(body, options.embeddingModels);
          return { ok: true, request };
        } catch (error) {
          const failure = openAiErrorOf(error);
          if (!failure) throw error;
          return { ok: false, ...failure };
        }
      },
      execute(endpoint: OpenAiBatchEndpoint, request, now) {
        return endpoint === "/v1/chat/completions"
          ? createChatCompletion(request as ChatRequest, { tokenizer, promptCache: null, now, recorded })
          : createEmbeddings(request as EmbeddingRequest, options.embeddingModels, tokenizer);
      },
    },
  });
  const anthropicBatches = new AnthropicBatchStore({
    maxBatches: limits.maxBatches,
    maxRequests: limits.anthropicBatchMaxRequests,
    seed: options.seed,
    executor: {
      prepare(params) {
        try {
          return { ok: true, request: parseMessageRequest(params, anthropicModels) };
        } catch (error) {
          const failure = anthropicErrorOf(error);
          if (!failure) throw error;
          return { ok: false, error: failure };
        }
      },
      execute(request, now) {
        return createMessage(request as MessageRequest, { tokenizer, promptCache: null, now, serviceTier: "batch", recorded });
      },
    },
  });
  const state: EmulatorState = {
    options,
    config: runtimeConfigFromOptions(options),
    openAiModels,
    anthropicModels,
    tokenizer,
    openAiCache: new OpenAiPrefixCache({ maxEntries: limits.promptCacheEntries, ttlMs: limits.openAiCacheTtlMs }),
    anthropicCache: new AnthropicPromptCache(limits.promptCacheEntries),
    files,
    openAiBatches,
    anthropicBatches,
    fineTuning: new FineTuningStore({ files, tokenizer, maxJobs: limits.maxFineTuningJobs }),
    faults: new FaultInjector(options.seed),
    stats: new Stats(),
    recorded,
    now: clock,
    reset() {
      state.config = runtimeConfigFromOptions(options);
      state.openAiCache.clear();
      state.anthropicCache.clear();
      state.openAiBatches.clear();
      state.anthropicBatches.clear();
      state.fineTuning.clear();
      state.files.clear();
      state.faults.reset();
      state.stats.reset();
      state.recorded.clear();
    },
  };
  return state;
}
