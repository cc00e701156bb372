import { z } from "zod";
import { isOpenAiReasoningModel, openAiContextWindow } from "./config.ts";
import { openAiError } from "./errors.ts";
import { agreedSeed, fnv1a32, mulberry32, randomId, seedOf, stableStringify } from "./hash.ts";
import type { OpenAiPrefixCache } from "./prompt-cache.ts";
import type { StreamEvent } from "./stream.ts";
import { cappedReply, type RecordedAnswers } from "./recorded.ts";
import { decideToolCall, imageSize, openAiImageTokens, reasoningTokens, schemaInstance } from "./structured.ts";
import { generateReply, streamDeltas } from "./text.ts";
import type { Tokenizer } from "./tokens.ts";
import { firstIssue, isMissing, openAiParamPath } from "./zod-errors.ts";

const ContentPartSchema = z.object({ type: z.string() }).passthrough();

const ToolCallSchema = z
  .object({
    id: z.string().optional(),
    type: z.string().optional(),
    function: z.object({ name: z.string(), arguments: z.string() }).passthrough(),
  })
  .passthrough();

const ChatMessageSchema = z
  .object({
    role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
    content: z.union([z.string(), z.array(ContentPartSchema), z.null()]).optional(),
    name: z.string().optional(),
    tool_calls: z.array(ToolCallSchema).optional(),
  })
  .passthrough();
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const ChatRequestSchema = z
  .object({
    model: z.string(),
    messages: z.array(ChatMessageSchema),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    n: z.number().int().min(1).max(128).nullish(),
    stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    tools: z
      .array(z.object({ type: z.literal("function"), function: z.object({ name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/), description: z.string().optional(), parameters: z.record(z.unknown()).optional() }).passthrough() }).passthrough())
      .nullish(),
    tool_choice: z.union([z.enum(["none", "auto", "required"]), z.object({ type: z.literal("function"), function: z.object({ name: z.string() }) }).passthrough()]).nullish(),
    response_format: z
      .object({ type: z.enum(["text", "json_object", "json_schema"]), json_schema: z.object({ name: z.string(), schema: z.record(z.unknown()).optional(), strict: z.boolean().nullish() }).passthrough().optional() })
      .passthrough()
      .nullish(),
    reasoning_effort: z.enum(["minimal", "low", "medium", "high"]).nullish(),
    seed: z.number().int().nullish(),
  })
  .passthrough();
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

export interface OpenAiToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ChatCompletionChoice {
  index: number;
  message: { role: "assistant"; content: string | null; refusal: null; annotations: []; tool_calls?: OpenAiToolCall[] };
  logprobs: null;
  finish_reason: "stop" | "length" | "tool_calls";
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: ChatCompletionChoice[];
  usage: ChatUsage;
  service_tier: "default";
  system_fingerprint: string;
}

/**
 * Validates a chat completion body in the order the API does and answers with the same
 * error bodies (status, message, param, code).
 */
export function parseChatRequest(body: unknown, knownModels: { has(model: string): boolean }): ChatRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw openAiError(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)");
  }
  const raw = body as Record<string, unknown>;
  if (raw["model"] === undefined || raw["model"] === null || raw["model"] === "") {
    throw openAiError(400, "you must provide a model parameter");
  }
  if (raw["messages"] === undefined) {
    throw openAiError(400, "Missing required parameter: 'messages'.", { param: "messages", code: "missing_required_parameter" });
  }
  const parsed = ChatRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    const param = openAiParamPath(issue.path);
    if (isMissing(issue)) {
      throw openAiError(400, `Missing required parameter: '${param}'.`, { param, code: "missing_required_parameter" });
    }
    const code = issue.code === "invalid_type" ? "invalid_type" : "invalid_value";
    throw openAiError(400, `Invalid '${param}': ${issue.message}.`, { param, code });
  }
  const request = parsed.data;
  if (!knownModels.has(request.model)) {
    throw openAiError(404, `The model \`${request.model}\` does not exist or you do not have access to it.`, {
      param: "model",
      code: "model_not_found",
    });
  }
  if (request.messages.length === 0) {
    throw openAiError(400, "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", {
      param: "messages",
      code: "empty_array",
    });
  }
  checkToolUse(request);
  if (request.reasoning_effort != null && !isOpenAiReasoningModel(request.model)) {
    throw openAiError(400, "Unsupported parameter: 'reasoning_effort' is not supported with this model.", { param: "reasoning_effort", code: "unsupported_parameter" });
  }
  if (isOpenAiReasoningModel(request.model)) {
    if (request.max_tokens != null) {
      throw openAiError(400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", {
        param: "max_tokens",
        code: "unsupported_parameter",
      });
    }
    if (request.temperature != null && request.temperature !== 1) {
      throw openAiError(400, `Unsupported value: 'temperature' does not support ${request.temperature} with this model. Only the default (1) value is supported.`, {
        param: "temperature",
        code: "unsupported_value",
      });
    }
  }
  return request;
}

/** The API's own tool checks: a named tool choice needs that tool; a tool message needs the call it answers. */
function checkToolUse(request: ChatRequest): void {
  const tools = request.tools ?? [];
  const choice = request.tool_choice;
  if (choice != null && tools.length === 0) {
    throw openAiError(400, "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", { param: "tool_choice", code: null });
  }
  if (typeof choice === "object" && choice !== null && !tools.some((t) => t.function.name === choice.function.name)) {
    throw openAiError(400, `Invalid 'tool_choice': function '${choice.function.name}' not found in 'tools'.`, { param: "tool_choice", code: "invalid_value" });
  }
  if (request.response_format?.type === "json_object" && !request.messages.some((m) => /json/i.test(messageText(m)))) {
    throw openAiError(400, "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", { param: "messages", code: null });
  }
  const open = new Set<string>();
  request.messages.forEach((m, i) => {
    for (const c of m.tool_calls ?? []) if (c.id) open.add(c.id);
    if (m.role === "tool") {
      const id = (m as { tool_call_id?: unknown }).tool_call_id;
      if (typeof id !== "string" || !open.has(id)) {
        throw openAiError(400, `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.`, { param: `messages.[${i}].role`, code: null });
      }
    }
  });
}

// Structural tokens (message framing) are given ids far outside the vocabulary so that they
// take part in prefix hashing without colliding with text tokens.
const FRAME_TOKENS = [0x7fff0001, 0x7fff0002, 0x7fff0003] as const;
const PRIMING_TOKENS = [0x7fff0011, 0x7fff0012, 0x7fff0013] as const;
const NAME_TOKEN = 0x7fff0021;
/** A low-detail image costs a flat 85 tokens (larger ones by size, see openAiImageTokens). */
export const IMAGE_TOKENS = 85;

export interface RenderedPrompt {
  tokens: number;
  /** The prompt as a token sequence (framing included), built only when needed. */
  sequence(): Uint32Array;
}

/**
 * Counts prompt tokens the way OpenAI bills them (per the OpenAI cookbook): each message
 * costs 3 framing tokens plus its role and content, a `name` costs its tokens plus one, and
 * every reply is primed with 3 more. Tool definitions are counted as their JSON text (the
 * exact internal rendering is not published).
 */
export function renderOpenAiPrompt(messages: readonly ChatMessage[], tools: readonly unknown[] | null | undefined, tokenizer: Tokenizer): RenderedPrompt {
  const segments: (readonly number[])[] = [];
  let count = 0;
  const push = (tokens: readonly number[]) => {
    segments.push(tokens);
    count += tokens.length;
  };
  if (tools && tools.length > 0) {
    push(FRAME_TOKENS);
    push(tokenizer.encode(stableStringify(tools)));
  }
  for (const message of messages) {
    push(FRAME_TOKENS);
    push(tokenizer.encode(message.role));
    const content = message.content;
    if (typeof content === "string") {
      push(tokenizer.encode(content));
    } else if (Array.isArray(content)) {
      for (const part of content) push(contentPartTokens(part, tokenizer));
    }
    if (message.name !== undefined) {
      push(tokenizer.encode(message.name));
      push([NAME_TOKEN]);
    }
    for (const call of message.tool_calls ?? []) {
      push(tokenizer.encode(call.function.name));
      push(tokenizer.encode(call.function.arguments));
    }
  }
  push(PRIMING_TOKENS);
  return {
    tokens: count,
    sequence: () => {
      const out = new Uint32Array(count);
      let at = 0;
      for (const segment of segments) {
        for (let i = 0; i < segment.length; i++) out[at++] = segment[i]!;
      }
      return out;
    },
  };
}

function contentPartTokens(part: z.infer<typeof ContentPartSchema>, tokenizer: Tokenizer): readonly number[] {
  if (part.type === "text" && typeof part["text"] === "string") return tokenizer.encode(part["text"]);
  if (part.type === "image_url") {
    const image = (part["image_url"] ?? {}) as { url?: unknown; detail?: unknown };
    const url = typeof image.url === "string" ? image.url : "";
    const tokens = openAiImageTokens(imageSize(url), typeof image.detail === "string" ? image.detail : undefined);
    return new Array<number>(tokens).fill(0x40000000 | (fnv1a32(stableStringify(part["image_url"])) & 0x3fffffff));
  }
  return tokenizer.encode(stableStringify(part));
}

/** Text of a message's content, used to quote the question in the reply. */
export function messageText(message: ChatMessage): string {
  const content = message.content;
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) => (part.type === "text" && typeof part["text"] === "string" ? part["text"] : ""))
    .filter((t) => t.length > 0)
    .join(" ");
}

export function outputCap(request: ChatRequest): number | undefined {
  return request.max_completion_tokens ?? request.max_tokens ?? undefined;
}

/** The seed of a request: the same model, messages and output cap always give the same reply. */
export function chatSeed(request: ChatRequest): number {
  return seedOf(stableStringify({ model: request.model, messages: request.messages, max: outputCap(request) ?? null }));
}

export interface ChatDeps {
  tokenizer: Tokenizer;
  /** Null disables prompt-cache emulation (batch requests). */
  promptCache: OpenAiPrefixCache | null;
  now: number;
  /** See RuntimeConfig.modelAgreement. */
  modelAgreement?: number;
  /** Loaded ground truth (recorded-answer mode); a request it knows gets the recorded answer. */
  recorded?: RecordedAnswers | null;
  /** A fine-tuned model's trained answer to these messages, or null when it was not trained on them. */
  trained?: ((messages: readonly ChatMessage[], cap: number | undefined) => { text: string; outputTokens: number; finish: "stop" | "length" } | null) | null;
}

export function createChatCompletion(request: ChatRequest, deps: ChatDeps): ChatCompletion {
  const prompt = renderOpenAiPrompt(request.messages, request.tools, deps.tokenizer);
  const cap = outputCap(request);
  const window = openAiContextWindow(request.model);
  if (window !== undefined && prompt.tokens + (cap ?? 0) > window) {
    throw openAiError(
      400,
      `This model's maximum context length is ${window} tokens. However, you requested ${prompt.tokens + (cap ?? 0)} tokens (${prompt.tokens} in the messages, ${cap ?? 0} in the completion). Please reduce the length of the messages or completion.`,
      { param: "messages", code: "context_length_exceeded" },
    );
  }
  const cachedTokens = deps.promptCache ? deps.promptCache.lookupAndStore(request.model, prompt.sequence(), deps.now) : 0;
  const lastUser = [...request.messages].reverse().find((m) => m.role === "user") ?? request.messages[request.messages.length - 1];
  const question = lastUser ? messageText(lastUser) : "";
  const stop = typeof request.stop === "string" ? [request.stop] : (request.stop ?? undefined);
  const seed = agreedSeed(request.messages.map(messageText), deps.modelAgreement ?? 0, chatSeed(request));
  const recorded = deps.recorded?.answer(
    { model: request.model, userTurns: request.messages.filter((m) => m.role === "user").map(messageText), promptText: request.messages.map(messageText).join("\n"), seed },
    deps.tokenizer,
  );
  const trained = deps.trained?.(request.messages, cap) ?? null;
  // Reasoning models think before answering: those tokens are billed as output and come out of the
  // cap. Emulated when the request sets reasoning_effort, so text-only traffic keeps its answers.
  const reasoning = isOpenAiReasoningModel(request.model) && request.reasoning_effort != null ? Math.min(reasoningTokens(request.reasoning_effort, seed), cap ?? Infinity) : 0;
  const visibleCap = cap === undefined ? undefined : cap - reasoning;
  const tools = (request.tools ?? []).map((t) => ({ name: t.function.name, description: t.function.description ?? "", schema: t.function.parameters ?? { type: "object" } }));
  const choice = request.tool_choice;
  const decision = decideToolCall(
    tools,
    typeof choice === "object" && choice !== null ? { mode: "any", name: choice.function.name } : { mode: choice === "none" ? "none" : choice === "required" ? "any" : "auto" },
    request.messages[request.messages.length - 1]?.role === "user",
    question,
  );
  const format = request.response_format;
  const choices: ChatCompletionChoice[] = [];
  let completionTokens = 0;
  const n = request.n ?? 1;
  for (let index = 0; index < n; index++) {
    const choiceSeed = index === 0 ? seed : (seed ^ Math.imul(index, 0x9e3779b1)) >>> 0;
    if (decision.call) {
      const args = JSON.stringify(schemaInstance(decision.tool.schema, choiceSeed, question));
      const call: OpenAiToolCall = { id: `call_${toolCallId(choiceSeed)}`, type: "function", function: { name: decision.tool.name, arguments: args } };
      completionTokens += reasoning + deps.tokenizer.count(decision.tool.name) + deps.tokenizer.count(args) + TOOL_CALL_OVERHEAD_TOKENS;
      choices.push({ index, message: { role: "assistant", content: null, refusal: null, annotations: [], tool_calls: [call] }, logprobs: null, finish_reason: "tool_calls" });
      continue;
    }
    const reply = trained
      ? trained
      : recorded
      ? cappedReply(recorded.text, visibleCap, deps.tokenizer)
      : format && format.type !== "text"
      ? cappedReply(jsonAnswer(format, choiceSeed, question, deps.tokenizer), visibleCap, deps.tokenizer)
      : generateReply({ seed: choiceSeed, question, maxTokens: visibleCap, stopSequences: stop }, deps.tokenizer);
    completionTokens += reply.outputTokens + reasoning;
    choices.push({
      index,
      message: { role: "assistant", content: reply.text, refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: reply.finish === "length" ? "length" : "stop",
    });
  }
  return {
    id: randomId("chatcmpl-", 29),
    object: "chat.completion",
    created: Math.floor(deps.now / 1000),
    model: request.model,
    choices,
    usage: {
      prompt_tokens: prompt.tokens,
      completion_tokens: completionTokens,
      total_tokens: prompt.tokens + completionTokens,
      prompt_tokens_details: { cached_tokens: cachedTokens, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: reasoning * n, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    },
    service_tier: "default",
    system_fingerprint: `fp_${(fnv1a32(request.model) >>> 0).toString(16).padStart(10, "0")}`,
  };
}

/** Framing tokens of one emitted tool call (its id, type and JSON keys). */
const TOOL_CALL_OVERHEAD_TOKENS = 8;

function toolCallId(seed: number): string {
  const rng = mulberry32(seed ^ 0x27d4eb2d);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from({ length: 24 }, () => alphabet[Math.floor(rng() * alphabet.length)]!).join("");
}

/**
 * The JSON answer to a json_schema / json_object request: an instance of the schema (json_object:
 * an object with the reply text as `answer`), compact as the API writes it.
 */
function jsonAnswer(format: NonNullable<ChatRequest["response_format"]>, seed: number, question: string, tokenizer: Tokenizer): string {
  if (format.type === "json_schema") return JSON.stringify(schemaInstance(format.json_schema?.schema ?? { type: "object" }, seed, question));
  return JSON.stringify({ answer: generateReply({ seed, question }, tokenizer).text });
}

/**
 * The SSE events of a streamed completion: a role chunk, one chunk per word, a chunk with
 * the finish reason per choice, then (with `include_usage`) a usage chunk with no choices,
 * then `[DONE]`.
 */
export function chatCompletionStream(completion: ChatCompletion, includeUsage: boolean): StreamEvent[] {
  const base = {
    id: completion.id,
    object: "chat.completion.chunk" as const,
    created: completion.created,
    model: completion.model,
    service_tier: completion.service_tier,
    system_fingerprint: completion.system_fingerprint,
  };
  const usageField = includeUsage ? { usage: null } : {};
  const perChoice = completion.choices.map((choice) => streamDeltas(choice.message.content ?? ""));
  const totalDeltas = perChoice.reduce((sum, deltas) => sum + deltas.length, 0);
  const events: StreamEvent[] = [];
  let emitted = 0;
  completion.choices.forEach((choice, i) => {
    events.push({
      data: { ...base, choices: [{ index: choice.index, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }], ...usageField },
      progress: totalDeltas === 0 ? 0 : emitted / totalDeltas,
    });
    (choice.message.tool_calls ?? []).forEach((call, k) => {
      // As the API streams them: the call's id and name first, then its arguments in pieces.
      events.push({ data: { ...base, choices: [{ index: choice.index, delta: { tool_calls: [{ index: k, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] }, logprobs: null, finish_reason: null }], ...usageField }, progress: 0 });
      for (const piece of call.function.arguments.match(/.{1,16}/gs) ?? []) {
        events.push({ data: { ...base, choices: [{ index: choice.index, delta: { tool_calls: [{ index: k, function: { arguments: piece } }] }, logprobs: null, finish_reason: null }], ...usageField }, progress: 0 });
      }
    });
    for (const delta of perChoice[i] ?? []) {
      emitted++;
      events.push({
        data: { ...base, choices: [{ index: choice.index, delta: { content: delta }, logprobs: null, finish_reason: null }], ...usageField },
        progress: emitted / totalDeltas,
      });
    }
    events.push({
      data: { ...base, choices: [{ index: choice.index, delta: {}, logprobs: null, finish_reason: choice.finish_reason }], ...usageField },
      progress: totalDeltas === 0 ? 1 : emitted / totalDeltas,
    });
  });
  if (includeUsage) events.push({ data: { ...base, choices: [], usage: completion.usage }, progress: 1 });
  events.push({ data: "[DONE]", progress: 1 });
  return events;
}
