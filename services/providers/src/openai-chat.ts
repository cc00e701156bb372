import { usageFromOpenAI, type ModelPrice, type Usage } from "@costwise/pricing";
import type OpenAI from "openai";
import { z } from "zod";
import { InvalidRequestError, MalformedResponseError } from "./errors.ts";
import type { ChatMessage, ChatRequest, ChatResponseFormat, ChatTool, ChatToolCall, ChatToolChoice } from "./types.ts";

type ChatParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;
type MessageParam = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/**
 * o-series, GPT-5 and GPT-6 models are reasoning models: they reject `max_tokens` (max_completion_tokens
 * also budgets the hidden reasoning tokens) and any temperature but the default 1.
 * gpt-5-chat-* is the non-reasoning ChatGPT model and behaves like GPT-4o.
 */
export function isReasoningModel(modelId: string): boolean {
  return /^(o\d|gpt-[56](?!-chat))/i.test(modelId);
}

const OPENAI_ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);

function openAIMessage(m: ChatMessage, model: string): MessageParam {
  if (!OPENAI_ROLES.has(m.role)) {
    throw new InvalidRequestError(`role "${m.role}" is not supported (system, developer, user, assistant, tool)`, { provider: "openai", model });
  }
  if (m.role === "tool") return { role: "tool", content: m.content, tool_call_id: m.tool_call_id ?? "" };
  if (m.role === "assistant") {
    const calls = m.tool_calls ?? [];
    if (calls.length === 0) return { role: "assistant", content: m.content };
    // An assistant turn that only called tools has null content, as the API returns it.
    return {
      role: "assistant",
      content: m.content === "" ? null : m.content,
      tool_calls: calls.map((c) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.arguments } })),
    };
  }
  if (m.role === "user" && m.parts && m.parts.length > 0) {
    return {
      role: "user",
      content: m.parts.map((p): OpenAI.Chat.Completions.ChatCompletionContentPart =>
        p.type === "image"
          ? { type: "image_url", image_url: { url: p.image_url ?? "", ...(p.detail ? { detail: p.detail as "low" | "high" | "auto" } : {}) } }
          : { type: "text", text: p.text ?? "" },
      ),
    };
  }
  return { role: m.role as "system" | "developer" | "user", content: m.content };
}

/** The tool definitions in Chat Completions' function-tool shape. */
export function openAITools(tools: readonly ChatTool[]): OpenAI.Chat.Completions.ChatCompletionTool[] {
  return tools.map((t) => ({
    type: "function" as const,
    function: {
      name: t.name,
      ...(t.description !== null ? { description: t.description } : {}),
      parameters: JSON.parse(t.parameters) as Record<string, unknown>,
      ...(t.strict !== null ? { strict: t.strict } : {}),
    },
  }));
}

function openAIToolChoice(choice: ChatToolChoice): OpenAI.Chat.Completions.ChatCompletionToolChoiceOption {
  if (choice.mode === "tool") return { type: "function", function: { name: choice.name ?? "" } };
  return choice.mode as "auto" | "none" | "required";
}

export function openAIResponseFormat(format: ChatResponseFormat): NonNullable<ChatParams["response_format"]> {
  if (format.type === "json_schema") {
    return {
      type: "json_schema",
      json_schema: {
        name: format.name ?? "response",
        schema: JSON.parse(format.schema ?? "{}") as Record<string, unknown>,
        ...(format.strict !== null ? { strict: format.strict } : {}),
      },
    };
  }
  return { type: format.type as "text" | "json_object" };
}

export function buildOpenAIChatParams(req: ChatRequest, price: ModelPrice): ChatParams {
  const messages = req.messages.map((m) => openAIMessage(m, req.model));
  const params: ChatParams = { model: req.model, messages };
  const reasoning = isReasoningModel(price.id);
  if (req.maxTokens != null) {
    // max_tokens is deprecated but still the field the GPT-4o/4.1 families document; reasoning models refuse it.
    if (reasoning) params.max_completion_tokens = req.maxTokens;
    else params.max_tokens = req.maxTokens;
  }
  // Reasoning models answer 400 to any temperature other than 1, so it is left at their default;
  // the same holds for top_p and the penalties.
  if (req.temperature != null && !reasoning) params.temperature = req.temperature;
  if (req.topP != null && !reasoning) params.top_p = req.topP;
  if (req.presencePenalty != null && !reasoning) params.presence_penalty = req.presencePenalty;
  if (req.frequencyPenalty != null && !reasoning) params.frequency_penalty = req.frequencyPenalty;
  // Effort is a reasoning-model setting; other models refuse the parameter.
  if (req.reasoningEffort != null && reasoning) params.reasoning_effort = req.reasoningEffort as OpenAI.ReasoningEffort;
  // tool_choice without tools is refused by the API, so both go only together.
  const tools = req.tools ?? [];
  if (tools.length > 0) {
    params.tools = openAITools(tools);
    if (req.toolChoice) params.tool_choice = openAIToolChoice(req.toolChoice);
    if (req.parallelToolCalls != null) params.parallel_tool_calls = req.parallelToolCalls;
  }
  if (req.responseFormat && req.responseFormat.type !== "text") {
    // JSON mode is refused unless the prompt says "JSON"; an object schema asks for the same without that rule
    // (a request routed here from another provider need not have followed it).
    const mentionsJson = req.messages.some((m) => /json/i.test(m.content));
    params.response_format = req.responseFormat.type === "json_object" && !mentionsJson
      ? { type: "json_schema", json_schema: { name: "response", schema: { type: "object" } } }
      : openAIResponseFormat(req.responseFormat);
  }
  if (req.stop && req.stop.length > 0) params.stop = [...req.stop];
  if (req.seed != null) params.seed = req.seed;
  if (req.user != null) params.safety_identifier = req.user;
  return params;
}

const toolCallSchema = z.object({
  id: z.string(),
  type: z.string().optional(),
  function: z.object({ name: z.string(), arguments: z.string() }),
});

const completionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullable().optional(),
          refusal: z.string().nullable().optional(),
          tool_calls: z.array(toolCallSchema.passthrough()).nullable().optional(),
        }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
  usage: z.object({
    prompt_tokens: z.number().int().nonnegative(),
    completion_tokens: z.number().int().nonnegative(),
    prompt_tokens_details: z.object({ cached_tokens: z.number().int().nonnegative().nullable().optional() }).nullable().optional(),
    completion_tokens_details: z.object({ reasoning_tokens: z.number().int().nonnegative().nullable().optional() }).nullable().optional(),
  }),
});

export interface ParsedChat {
  content: string;
  toolCalls: ChatToolCall[];
  refusal: string | null;
  usage: Usage;
  finishReason: string;
}

/** Validates the fields billing and callers depend on; anything missing is a malformed response. */
export function parseOpenAIChat(body: unknown, model: string): ParsedChat {
  const parsed = completionSchema.safeParse(body);
  if (!parsed.success) {
    throw new MalformedResponseError(`openai ${model}: chat completion has no valid ${describeIssues(parsed.error)}`, {
      provider: "openai",
      model,
    });
  }
  const choice = parsed.data.choices[0]!;
  const refusal = choice.message.refusal ?? null;
  return {
    content: choice.message.content ?? refusal ?? "",
    toolCalls: (choice.message.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments })),
    refusal,
    usage: usageFromOpenAI(parsed.data.usage),
    finishReason: choice.finish_reason ?? "unknown",
  };
}

/**
 * The usage a chat completion body bills, even when the rest of it is unusable (no choices, no
 * content); null when it states no valid usage. What a caller is charged for an answer it cannot use.
 */
export function billedOpenAIUsage(body: unknown): Usage | null {
  const parsed = z.object({ usage: completionSchema.shape.usage }).safeParse(body);
  return parsed.success ? usageFromOpenAI(parsed.data.usage) : null;
}

const embeddingSchema = z.object({
  data: z.array(z.object({ embedding: z.array(z.number()), index: z.number().int().nonnegative() })),
  usage: z.object({ prompt_tokens: z.number().int().nonnegative() }),
});

export function parseOpenAIEmbeddings(body: unknown, model: string, inputs: number): { vectors: number[][]; usage: Usage } {
  const parsed = embeddingSchema.safeParse(body);
  const fail = (what: string) =>
    new MalformedResponseError(`openai ${model}: embeddings response ${what}`, { provider: "openai", model });
  if (!parsed.success) throw fail(`has no valid ${describeIssues(parsed.error)}`);
  const vectors: number[][] = new Array(inputs);
  for (const d of parsed.data.data) {
    if (d.index >= inputs || vectors[d.index] !== undefined) throw fail(`has a bad index ${d.index}`);
    vectors[d.index] = d.embedding;
  }
  if (parsed.data.data.length !== inputs) throw fail(`has ${parsed.data.data.length} vectors for ${inputs} inputs`);
  return {
    vectors,
    usage: { inputTokens: parsed.data.usage.prompt_tokens, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 0 },
  };
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => (i.path.length > 0 ? i.path.join(".") : "a JSON object body"))
    .join(", ");
}
