import type Anthropic from "@anthropic-ai/sdk";
import type { PriceCatalog, Provider, Usage } from "@costwise/pricing";
import type OpenAI from "openai";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: readonly ChatMessage[];
  /** null/undefined: provider default (OpenAI) or min(4096, the model's max output) (Anthropic, where it is required). */
  maxTokens?: number | null;
  temperature?: number | null;
  /** Correlates log lines; not sent to the provider. */
  requestId?: string;
  signal?: AbortSignal;
}

export interface ChatResult {
  content: string;
  /** The model that answered: the requested one, or its fallback. */
  model: string;
  provider: Provider;
  usage: Usage;
  /** Normalised to OpenAI's vocabulary: "stop" | "length" | "content_filter" | "tool_calls" | other provider values as sent. */
  finishReason: string;
  /** Wall time of the whole call: queueing, every attempt, backoff and fallback. */
  latencyMs: number;
  /** HTTP attempts made, over the requested model and its fallback. */
  attempts: number;
  /** The requested model when a fallback answered, else null. */
  fellBackFrom: string | null;
}

export interface EmbedRequest {
  model: string;
  input: readonly string[];
  dimensions?: number;
  signal?: AbortSignal;
}

export interface EmbedResult {
  /** One vector per input, in input order. */
  vectors: number[][];
  model: string;
  provider: Provider;
  usage: Usage;
  latencyMs: number;
}

export interface Providers {
  chat(req: ChatRequest): Promise<ChatResult>;
  embed(req: EmbedRequest): Promise<EmbedResult>;
  /** The underlying clients (retries off, pointed at the emulator without a key), for batch/file APIs. */
  readonly openai: OpenAI;
  readonly anthropic: Anthropic;
  /** Refuses new calls and waits for the ones in flight to settle. */
  close(): Promise<void>;
}

export interface ProvidersLogger {
  warn(o: object, m?: string): void;
  info(o: object, m?: string): void;
  debug(o: object, m?: string): void;
}

export interface ProvidersDeps {
  catalog: PriceCatalog;
  logger: ProvidersLogger;
}
