import { createHash } from "node:crypto";
import { z } from "zod";
import { anthropicMaxOutputTokens, anthropicMinCacheableTokens } from "./config.ts";
import { anthropicError } from "./errors.ts";
import { agreedSeed, randomId, seedOf, stableStringify } from "./hash.ts";
import type { AnthropicPromptCache, CacheBreakpoint, CacheTtl } from "./prompt-cache.ts";
import type { StreamEvent } from "./stream.ts";
import { cappedReply, type RecordedAnswers } from "./recorded.ts";
import { anthropicImageTokens, decideToolCall, imageSize, schemaInstance } from "./structured.ts";
import { generateReply, streamDeltas } from "./text.ts";
import type { Tokenizer } from "./tokens.ts";
import { anthropicParamPath, firstIssue, isMissing } from "./zod-errors.ts";

const CacheControlSchema = z.object({ type: z.literal("ephemeral"), ttl: z.enum(["5m", "1h"]).optional() }).passthrough();

const BlockSchema = z.object({ type: z.string(), cache_control: CacheControlSchema.nullish() }).passthrough();
type Block = z.infer<typeof BlockSchema>;

const MessageParamSchema = z
  .object({
    role: z.enum(["user", "assistant"]),
    content: z.union([z.string(), z.array(BlockSchema)]),
  })
  .passthrough();
type MessageParam = z.infer<typeof MessageParamSchema>;

const ToolSchema = z.object({ name: z.string(), description: z.string().optional(), input_schema: z.record(z.unknown()).optional(), cache_control: CacheControlSchema.nullish() }).passthrough();

const PromptFields = {
  model: z.string(),
  messages: z.array(MessageParamSchema),
  system: z.union([z.string(), z.array(BlockSchema)]).optional(),
  tools: z.array(ToolSchema).optional(),
};

export const MessageRequestSchema = z
  .object({
    ...PromptFields,
    max_tokens: z.number().int().min(1),
    stop_sequences: z.array(z.string()).optional(),
    stream: z.boolean().optional(),
    temperature: z.number().min(0).max(1).optional(),
    tool_choice: z
      .object({ type: z.enum(["auto", "any", "tool", "none"]), name: z.string().optional(), disable_parallel_tool_use: z.boolean().optional() })
      .passthrough()
      .optional(),
    thinking: z.union([z.object({ type: z.literal("enabled"), budget_tokens: z.number().int().min(1024) }).passthrough(), z.object({ type: z.literal("disabled") }).passthrough()]).optional(),
  })
  .passthrough();
export type MessageRequest = z.infer<typeof MessageRequestSchema>;

export const CountTokensRequestSchema = z.object(PromptFields).passthrough();
export type CountTokensRequest = z.infer<typeof CountTokensRequestSchema>;

export const MAX_CACHE_BREAKPOINTS = 4;
/** Tool use adds a hidden system prompt (Anthropic documents 346 tokens for `auto`). */
export const TOOL_USE_SYSTEM_TOKENS = 346;
/** Tokens billed for an image whose size is unknown (a URL source): a full-size one (about 1.15 megapixels at width*height/750). */
export const IMAGE_TOKENS = 1_600;
const MESSAGE_OVERHEAD_TOKENS = 3;
const REPLY_OVERHEAD_TOKENS = 3;

function parseWith<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw anthropicError(400, "There was an issue with the request body: expected a JSON object.");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    const path = anthropicParamPath(issue.path);
    throw anthropicError(400, isMissing(issue) ? `${path}: Field required` : `${path}: ${issue.message}`);
  }
  return parsed.data;
}

function checkPrompt(request: CountTokensRequest, knownModels: ReadonlySet<string>): void {
  if (!knownModels.has(request.model)) throw anthropicError(404, `model: ${request.model}`);
  if (request.messages.length === 0) throw anthropicError(400, "messages: at least one message is required");
  request.messages.forEach((message, i) => {
    if (Array.isArray(message.content)) {
      message.content.forEach((block, j) => {
        if (block.type === "text" && (typeof block["text"] !== "string" || block["text"].length === 0)) {
          throw anthropicError(400, `messages.${i}.content.${j}.text: text content blocks must be non-empty`);
        }
      });
    } else if (message.content.length === 0 && i < request.messages.length - 1) {
      throw anthropicError(400, `messages.${i}: all messages must have non-empty content except for the optional final assistant message`);
    }
  });
}

/** The API's own tool and thinking checks. */
function checkToolUse(request: MessageRequest): void {
  const choice = request.tool_choice;
  const tools = request.tools ?? [];
  if (choice?.type === "tool" && !tools.some((t) => t.name === choice.name)) {
    throw anthropicError(400, `tool_choice.name: Tool '${choice.name ?? ""}' not found in provided tools`);
  }
  if (request.thinking?.type === "enabled") {
    if (request.thinking.budget_tokens >= request.max_tokens) throw anthropicError(400, "`max_tokens` must be greater than `thinking.budget_tokens`");
    if (choice?.type === "tool" || choice?.type === "any") throw anthropicError(400, "Thinking may not be enabled when tool_choice forces tool use.");
    if (request.temperature !== undefined && request.temperature !== 1) throw anthropicError(400, "`temperature` may only be set to 1 when thinking is enabled.");
  }
  // Every tool_result must answer a tool_use of the assistant turn just before it.
  request.messages.forEach((m, i) => {
    if (m.role !== "user" || !Array.isArray(m.content)) return;
    const prev = request.messages[i - 1];
    const ids = new Set(prev && Array.isArray(prev.content) ? prev.content.filter((b) => b.type === "tool_use").map((b) => String(b["id"])) : []);
    for (const block of m.content) {
      if (block.type === "tool_result" && !ids.has(String(block["tool_use_id"]))) {
        throw anthropicError(400, `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block["tool_use_id"])}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
      }
    }
  });
}

export function parseMessageRequest(body: unknown, knownModels: ReadonlySet<string>): MessageRequest {
  const request = parseWith(MessageRequestSchema, body);
  checkPrompt(request, knownModels);
  checkToolUse(request);
  const max = anthropicMaxOutputTokens(request.model);
  if (max !== undefined && request.max_tokens > max) {
    throw anthropicError(400, `max_tokens: ${request.max_tokens} > ${max}, which is the maximum allowed number of output tokens for ${request.model}`);
  }
  return request;
}

export function parseCountTokensRequest(body: unknown, knownModels: ReadonlySet<string>): CountTokensRequest {
  const request = parseWith(CountTokensRequestSchema, body);
  checkPrompt(request, knownModels);
  return request;
}

export interface AnthropicPrompt {
  tokens: number;
  breakpoints: CacheBreakpoint[];
}

function withoutCacheControl(value: Record<string, unknown>): Record<string, unknown> {
  const { cache_control: _ignored, ...rest } = value;
  return rest;
}

function blockTokens(block: Block, tokenizer: Tokenizer): number {
  switch (block.type) {
    case "text":
      return tokenizer.count(typeof block["text"] === "string" ? block["text"] : "");
    case "image": {
      const source = block["source"] as { type?: string; data?: unknown; media_type?: unknown } | undefined;
      return source?.type === "base64" && typeof source.data === "string" ? anthropicImageTokens(imageSize(`data:${String(source.media_type)};base64,${source.data}`)) : IMAGE_TOKENS;
    }
    case "document": {
      const source = block["source"] as { type?: string; data?: unknown } | undefined;
      return source?.type === "text" && typeof source.data === "string" ? tokenizer.count(source.data) : IMAGE_TOKENS;
    }
    case "thinking":
      return tokenizer.count(typeof block["thinking"] === "string" ? block["thinking"] : "");
    case "tool_use":
      return tokenizer.count(String(block["name"] ?? "")) + tokenizer.count(stableStringify(block["input"] ?? {}));
    case "tool_result": {
      const content = block["content"];
      if (typeof content === "string") return MESSAGE_OVERHEAD_TOKENS + tokenizer.count(content);
      if (Array.isArray(content)) {
        return MESSAGE_OVERHEAD_TOKENS + content.reduce((sum: number, inner) => sum + blockTokens(BlockSchema.parse(inner), tokenizer), 0);
      }
      return MESSAGE_OVERHEAD_TOKENS;
    }
    default:
      return tokenizer.count(stableStringify(withoutCacheControl(block)));
  }
}

/**
 * Counts input tokens and locates cache breakpoints. Anthropic's tokenizer is not public, so
 * text is counted with o200k_base plus small fixed framing costs (3 per message, 3 for the
 * reply, 346 when tools are given); this is an approximation of the real counts.
 * Prefixes are hashed in the API's cache order (tools → system → messages), without the
 * `cache_control` markers themselves so moving a marker does not change the key.
 */
export function renderAnthropicPrompt(request: CountTokensRequest, tokenizer: Tokenizer): AnthropicPrompt {
  const hash = createHash("sha256").update(request.model).update("\u0000");
  const breakpoints: CacheBreakpoint[] = [];
  let tokens = 0;
  const add = (key: string, count: number, cacheControl: { ttl?: CacheTtl | undefined } | null | undefined) => {
    hash.update(key).update("\u0000");
    tokens += count;
    if (cacheControl) breakpoints.push({ key: hash.copy().digest("base64"), tokens, ttl: cacheControl.ttl ?? "5m" });
  };
  const tools = request.tools ?? [];
  if (tools.length > 0) tokens += TOOL_USE_SYSTEM_TOKENS;
  for (const tool of tools) {
    const text = stableStringify(withoutCacheControl(tool));
    add(`tool:${text}`, tokenizer.count(text), tool.cache_control);
  }
  if (typeof request.system === "string") {
    add(`system:${request.system}`, tokenizer.count(request.system), null);
  } else {
    for (const block of request.system ?? []) {
      add(`system:${stableStringify(withoutCacheControl(block))}`, blockTokens(block, tokenizer), block.cache_control);
    }
  }
  for (const message of request.messages) {
    add(`role:${message.role}`, MESSAGE_OVERHEAD_TOKENS, null);
    if (typeof message.content === "string") {
      add(`text:${message.content}`, tokenizer.count(message.content), null);
    } else {
      for (const block of message.content) {
        add(`block:${stableStringify(withoutCacheControl(block))}`, blockTokens(block, tokenizer), block.cache_control);
      }
    }
  }
  if (breakpoints.length > MAX_CACHE_BREAKPOINTS) {
    throw anthropicError(400, `A maximum of ${MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found ${breakpoints.length}.`);
  }
  return { tokens: tokens + REPLY_OVERHEAD_TOKENS, breakpoints };
}

export interface AnthropicUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number };
  output_tokens: number;
  server_tool_use: null;
  service_tier: "standard" | "batch";
}

export type AnthropicContentBlock =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "tool_use"; id: string; name: string; input: unknown };

export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: "end_turn" | "max_tokens" | "stop_sequence" | "tool_use";
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

function messageText(message: MessageParam): string {
  if (typeof message.content === "string") return message.content;
  return message.content
    .map((block) => (block.type === "text" && typeof block["text"] === "string" ? block["text"] : ""))
    .filter((t) => t.length > 0)
    .join(" ");
}

export function messageSeed(request: MessageRequest): number {
  return seedOf(stableStringify({ model: request.model, system: request.system ?? null, messages: request.messages, max: request.max_tokens }));
}

export interface MessageDeps {
  tokenizer: Tokenizer;
  /** Null disables prompt-cache emulation (batch requests). */
  promptCache: AnthropicPromptCache | null;
  now: number;
  serviceTier: "standard" | "batch";
  /** See RuntimeConfig.modelAgreement. */
  modelAgreement?: number;
  /** Loaded ground truth (recorded-answer mode); a request it knows gets the recorded answer. */
  recorded?: RecordedAnswers | null;
}

export function createMessage(request: MessageRequest, deps: MessageDeps): AnthropicMessage {
  const prompt = renderAnthropicPrompt(request, deps.tokenizer);
  const cache = deps.promptCache
    ? deps.promptCache.apply(prompt.tokens, prompt.breakpoints, anthropicMinCacheableTokens(request.model), deps.now)
    : { inputTokens: prompt.tokens, cacheReadInputTokens: 0, cacheCreationInputTokens: 0, ephemeral5mInputTokens: 0, ephemeral1hInputTokens: 0 };
  const lastUser = [...request.messages].reverse().find((m) => m.role === "user");
  const seed = agreedSeed([...systemTexts(request.system), ...request.messages.map(messageText)], deps.modelAgreement ?? 0, messageSeed(request));
  const recorded = deps.recorded?.answer(
    { model: request.model, userTurns: request.messages.filter((m) => m.role === "user").map(messageText), promptText: request.messages.map(messageText).join("\n"), seed },
    deps.tokenizer,
  );
  const question = lastUser ? messageText(lastUser) : "";
  const content: AnthropicContentBlock[] = [];
  let outputTokens = 0;
  let cap = request.max_tokens;
  if (request.thinking?.type === "enabled") {
    // Extended thinking: a thinking block within its budget, billed as output (the API reports no split).
    const thought = generateReply({ seed: seed ^ 0x5bd1e995, question, maxTokens: Math.min(request.thinking.budget_tokens, cap) }, deps.tokenizer);
    content.push({ type: "thinking", thinking: thought.text, signature: createHash("sha256").update(thought.text).digest("base64") });
    outputTokens += thought.outputTokens;
    cap = Math.max(0, cap - thought.outputTokens);
  }
  const tools = (request.tools ?? []).map((t) => ({ name: t.name, description: t.description ?? "", schema: t.input_schema ?? { type: "object" } }));
  const choice = request.tool_choice;
  const last = request.messages[request.messages.length - 1];
  // A user turn that only carries tool results is the tools' answer, not a new question.
  const lastIsQuestion = last?.role === "user" && !(Array.isArray(last.content) && last.content.every((b) => b.type === "tool_result"));
  const decision = decideToolCall(tools, { mode: choice?.type === "none" ? "none" : choice?.type === "any" || choice?.type === "tool" ? "any" : "auto", name: choice?.type === "tool" ? choice.name ?? null : null }, lastIsQuestion, question);
  if (decision.call) {
    const input = schemaInstance(decision.tool.schema, seed, question);
    content.push({ type: "tool_use", id: `toolu_01${toolUseId(seed)}`, name: decision.tool.name, input });
    outputTokens += deps.tokenizer.count(decision.tool.name) + deps.tokenizer.count(JSON.stringify(input)) + TOOL_USE_OVERHEAD_TOKENS;
  }
  const reply: { text: string; outputTokens: number; finish: string; stopSequence?: string | null } = decision.call
    ? { text: "", outputTokens: 0, finish: "tool_use", stopSequence: null }
    : recorded
    ? cappedReply(recorded.text, cap, deps.tokenizer)
    : generateReply({ seed, question, maxTokens: cap, stopSequences: request.stop_sequences }, deps.tokenizer);
  if (!decision.call) content.push({ type: "text", text: reply.text });
  outputTokens += reply.outputTokens;
  return {
    id: randomId("msg_01", 22),
    type: "message",
    role: "assistant",
    model: request.model,
    content,
    stop_reason: reply.finish === "tool_use" ? "tool_use" : reply.finish === "length" ? "max_tokens" : reply.finish === "stop_sequence" ? "stop_sequence" : "end_turn",
    stop_sequence: reply.stopSequence ?? null,
    usage: {
      input_tokens: cache.inputTokens,
      cache_creation_input_tokens: cache.cacheCreationInputTokens,
      cache_read_input_tokens: cache.cacheReadInputTokens,
      cache_creation: { ephemeral_5m_input_tokens: cache.ephemeral5mInputTokens, ephemeral_1h_input_tokens: cache.ephemeral1hInputTokens },
      output_tokens: outputTokens,
      server_tool_use: null,
      service_tier: deps.serviceTier,
    },
  };
}

/** Framing tokens of one emitted tool_use block. */
const TOOL_USE_OVERHEAD_TOKENS = 8;

function toolUseId(seed: number): string {
  return createHash("sha256").update(`toolu:${seed}`).digest("base64url").replace(/[-_]/g, "x").slice(0, 22);
}

/** Anthropic's SSE sequence for a finished message. */
export function messageStream(message: AnthropicMessage): StreamEvent[] {
  const events: StreamEvent[] = [
    {
      event: "message_start",
      data: {
        type: "message_start",
        message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...message.usage, output_tokens: 1 } },
      },
      progress: 0,
    },
  ];
  let pinged = false;
  message.content.forEach((block, index) => {
    const start = block.type === "text" ? { type: "text", text: "" } : block.type === "thinking" ? { type: "thinking", thinking: "", signature: "" } : { type: "tool_use", id: block.id, name: block.name, input: {} };
    events.push({ event: "content_block_start", data: { type: "content_block_start", index, content_block: start }, progress: 0 });
    if (!pinged) {
      events.push({ event: "ping", data: { type: "ping" }, progress: 0 });
      pinged = true;
    }
    if (block.type === "text") {
      const deltas = streamDeltas(block.text);
      deltas.forEach((delta, i) => {
        events.push({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "text_delta", text: delta } }, progress: (i + 1) / deltas.length });
      });
    } else if (block.type === "thinking") {
      for (const delta of streamDeltas(block.thinking)) events.push({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "thinking_delta", thinking: delta } }, progress: 0 });
      events.push({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "signature_delta", signature: block.signature } }, progress: 0 });
    } else {
      for (const piece of JSON.stringify(block.input).match(/.{1,16}/gs) ?? []) {
        events.push({ event: "content_block_delta", data: { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } }, progress: 1 });
      }
    }
    events.push({ event: "content_block_stop", data: { type: "content_block_stop", index }, progress: 1 });
  });
  events.push({
    event: "message_delta",
    data: {
      type: "message_delta",
      delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence },
      usage: {
        input_tokens: message.usage.input_tokens,
        cache_creation_input_tokens: message.usage.cache_creation_input_tokens,
        cache_read_input_tokens: message.usage.cache_read_input_tokens,
        output_tokens: message.usage.output_tokens,
        server_tool_use: null,
      },
    },
    progress: 1,
  });
  events.push({ event: "message_stop", data: { type: "message_stop" }, progress: 1 });
  return events;
}

function systemTexts(system: MessageRequest["system"]): string[] {
  if (system === undefined || system === null) return [];
  if (typeof system === "string") return [system];
  return [system.map((b) => {
    const text = (b as Record<string, unknown>)["text"];
    return typeof text === "string" ? text : "";
  }).join(" ")];
}
