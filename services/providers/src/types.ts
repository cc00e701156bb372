import type Anthropic from "@anthropic-ai/sdk";
import type { PriceCatalog, Provider, Usage } from "@costwise/pricing";
import type OpenAI from "openai";

/** Structurally the request contract's message: text, or ordered parts; tool calls and results. */
export interface ChatMessage {
  role: string;
  /** The text; with `parts`, their text parts joined. */
  content: string;
  parts?: readonly ChatContentPart[];
  tool_calls?: readonly ChatToolCall[];
  tool_call_id?: string | null;
}

export interface ChatContentPart {
  type: string;
  text: string | null;
  /** https: or data: URL */
  image_url: string | null;
  detail: string | null;
}

export interface ChatToolCall {
  id: string;
  name: string;
  /** JSON text */
  arguments: string;
}

export interface ChatTool {
  name: string;
  description: string | null;
  /** JSON Schema as JSON text */
  parameters: string;
  strict: boolean | null;
}

/** What the caller lets the model do with the tools: auto | none | required | tool (with name). */
export interface ChatToolChoice {
  mode: string;
  name: string | null;
}

export interface ChatResponseFormat {
  type: string;
  name: string | null;
  /** JSON Schema as JSON text */
  schema: string | null;
  strict: boolean | null;
}

export interface ChatRequest {
  model: string;
  messages: readonly ChatMessage[];
  /** null/undefined: provider default (OpenAI) or min(4096, the model's max output) (Anthropic, where it is required). */
  maxTokens?: number | null;
  temperature?: number | null;
  tools?: readonly ChatTool[];
  toolChoice?: ChatToolChoice | null;
  parallelToolCalls?: boolean | null;
  responseFormat?: ChatResponseFormat | null;
  stop?: readonly string[];
  seed?: number | null;
  topP?: number | null;
  presencePenalty?: number | null;
  frequencyPenalty?: number | null;
  /** minimal | low | medium | high; sent only to models that reason. */
  reasoningEffort?: string | null;
  /** The caller's end-user id (abuse monitoring). */
  user?: string | null;
  /** Overrides PROMPT_CACHE for this request (a use case's policy); not sent to the provider. */
  promptCache?: "auto" | "off" | "always";
  /** Correlates log lines; not sent to the provider. */
  requestId?: string;
  signal?: AbortSignal;
}

export interface ChatResult {
  content: string;
  /** The tool calls the model made (finishReason "tool_calls"). */
  toolCalls: ChatToolCall[];
  /** The model declined; its explanation. */
  refusal: string | null;
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
  /** Clock of the prompt-cache reuse window; Date.now by default. */
  now?: () => number;
}
