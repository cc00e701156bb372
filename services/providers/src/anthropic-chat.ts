import type Anthropic from "@anthropic-ai/sdk";
import { usageFromAnthropic, type ModelPrice, type Usage } from "@costwise/pricing";
import { z } from "zod";
import { InvalidRequestError, MalformedResponseError } from "./errors.ts";
import { describeIssues, type ParsedChat } from "./openai-chat.ts";
import type { ChatMessage, ChatRequest, ChatTool, ChatToolCall } from "./types.ts";

type MessageParams = Anthropic.Messages.MessageCreateParamsNonStreaming;

/** Used when the caller leaves maxTokens unset: Anthropic requires one. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 4096;

/** Between system/developer messages lifted into Anthropic's single `system` text. */
export const ANTHROPIC_SYSTEM_SEPARATOR = "\n\n";

export interface AnthropicPrompt {
  /** System and developer messages, in order, joined by a blank line; undefined when there are none. */
  system: string | undefined;
  messages: Anthropic.Messages.MessageParam[];
}

/**
 * The tool the model is made to call when the caller wants JSON: Anthropic's documented way to get
 * output that follows a JSON Schema (https://docs.anthropic.com/en/docs/test-and-evaluate/strengthen-guardrails/increase-consistency).
 * Its input is the answer; it is never reported as a tool call.
 */
export const JSON_OUTPUT_TOOL = "costwise_json_output";

type ContentBlock = Anthropic.Messages.ContentBlockParam;

function imageBlock(url: string): Anthropic.Messages.ImageBlockParam {
  const data = /^data:(image\/(?:png|jpeg|gif|webp));base64,(.*)$/s.exec(url);
  if (data) return { type: "image", source: { type: "base64", media_type: data[1] as "image/png", data: data[2]! } };
  return { type: "image", source: { type: "url", url } };
}

function parseArguments(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // refused below
  }
  return {};
}

/**
 * Anthropic takes instructions in a top-level `system` parameter and only user/assistant turns in
 * `messages`, so OpenAI-style system (and developer) messages are lifted out wherever they appear.
 * Tool results become `tool_result` blocks of the next user turn (they must lead it), assistant
 * tool calls `tool_use` blocks, image parts `image` blocks.
 */
export function splitSystem(messages: readonly ChatMessage[], model: string): AnthropicPrompt {
  const system: string[] = [];
  const turns: Anthropic.Messages.MessageParam[] = [];
  let pendingResults: ContentBlock[] = [];
  const flushResults = (then: ContentBlock[] | null) => {
    if (pendingResults.length === 0 && then === null) return;
    turns.push({ role: "user", content: [...pendingResults, ...(then ?? [])] });
    pendingResults = [];
  };
  for (const m of messages) {
    if (m.role === "system" || m.role === "developer") {
      system.push(m.content);
    } else if (m.role === "tool") {
      pendingResults.push({ type: "tool_result", tool_use_id: m.tool_call_id ?? "", content: m.content });
    } else if (m.role === "user") {
      const blocks: ContentBlock[] | null = m.parts && m.parts.length > 0
        ? m.parts.map((p): ContentBlock => (p.type === "image" ? imageBlock(p.image_url ?? "") : { type: "text", text: p.text ?? "" }))
        : null;
      if (pendingResults.length > 0) flushResults(blocks ?? (m.content.trim() === "" ? [] : [{ type: "text", text: m.content }]));
      else turns.push({ role: "user", content: blocks ?? m.content });
    } else if (m.role === "assistant") {
      flushResults(null);
      const calls = m.tool_calls ?? [];
      if (calls.length === 0) {
        turns.push({ role: "assistant", content: m.content });
      } else {
        const blocks: ContentBlock[] = m.content.trim() === "" ? [] : [{ type: "text", text: m.content }];
        for (const c of calls) blocks.push({ type: "tool_use", id: c.id, name: c.name, input: parseArguments(c.arguments) });
        turns.push({ role: "assistant", content: blocks });
      }
    } else {
      throw new InvalidRequestError(`role "${m.role}" is not supported (system, developer, user, assistant, tool)`, {
        provider: "anthropic",
        model,
      });
    }
  }
  flushResults(null);
  return { system: system.length > 0 ? system.join(ANTHROPIC_SYSTEM_SEPARATOR) : undefined, messages: turns };
}

/** Thinking budgets per reasoning effort; Anthropic's minimum is 1024 and it must stay under max_tokens. */
const THINKING_BUDGET: Record<string, number> = { low: 1_024, medium: 4_096, high: 16_384 };
/** Models with extended thinking: Claude 3.7 and every 4.x / 5.x model. */
export const thinks = (modelId: string) => /^claude-(3-7|(opus|sonnet|haiku)-[45])/.test(modelId);

export function anthropicTools(tools: readonly ChatTool[]): Anthropic.Messages.Tool[] {
  return tools.map((t) => ({
    name: t.name,
    ...(t.description !== null ? { description: t.description } : {}),
    input_schema: JSON.parse(t.parameters) as Anthropic.Messages.Tool.InputSchema,
  }));
}

export function buildAnthropicParams(req: ChatRequest, price: ModelPrice): MessageParams {
  const { system, messages } = splitSystem(req.messages, req.model);
  const params: MessageParams = {
    model: req.model,
    messages,
    max_tokens: req.maxTokens ?? Math.min(DEFAULT_ANTHROPIC_MAX_TOKENS, price.maxOutputTokens),
  };
  if (system !== undefined) params.system = system;
  const tools = anthropicTools(req.tools ?? []);
  const disableParallel = req.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  const choice = req.toolChoice ?? null;
  let toolChoice: Anthropic.Messages.ToolChoice | undefined;
  if (choice?.mode === "none") toolChoice = { type: "none" };
  else if (choice?.mode === "required") toolChoice = { type: "any", ...disableParallel };
  else if (choice?.mode === "tool") toolChoice = { type: "tool", name: choice.name ?? "", ...disableParallel };
  else if (tools.length > 0 && req.parallelToolCalls === false) toolChoice = { type: "auto", ...disableParallel };
  const format = req.responseFormat ?? null;
  if (format && format.type !== "text") {
    // JSON output: a tool whose input schema is the wanted schema, which the model must call
    // (or, with the caller's own tools in play, may call instead of them).
    const schema = format.type === "json_schema" && format.schema ? JSON.parse(format.schema) : { type: "object" };
    tools.push({ name: JSON_OUTPUT_TOOL, description: `Reply with your answer as this tool's input${format.name ? ` (${format.name})` : ""}.`, input_schema: schema as Anthropic.Messages.Tool.InputSchema });
    const callerTools = tools.length > 1;
    if (!callerTools || choice?.mode === "none") toolChoice = { type: "tool", name: JSON_OUTPUT_TOOL };
    else if (choice === null || choice.mode === "auto") toolChoice = { type: "any", ...disableParallel };
  }
  if (tools.length > 0) params.tools = tools;
  if (toolChoice && tools.length > 0) params.tool_choice = toolChoice;
  // Extended thinking refuses a forced tool choice and any temperature; it is only asked for when it fits.
  const budget = req.reasoningEffort ? THINKING_BUDGET[req.reasoningEffort] : undefined;
  const forced = params.tool_choice?.type === "tool" || params.tool_choice?.type === "any";
  const thinking = budget !== undefined && thinks(price.id) && !forced && budget < params.max_tokens;
  if (thinking) params.thinking = { type: "enabled", budget_tokens: budget };
  else if (req.temperature != null) params.temperature = req.temperature;
  // Current Claude models refuse temperature and top_p together; temperature wins.
  if (req.topP != null && !thinking && req.temperature == null) params.top_p = req.topP;
  if (req.stop && req.stop.length > 0) params.stop_sequences = [...req.stop];
  if (req.user != null) params.metadata = { user_id: req.user };
  // Anthropic has no seed and no presence/frequency penalties: those stay OpenAI-only hints.
  return params;
}

const messageSchema = z.object({
  content: z.array(z.object({ type: z.string(), text: z.string().optional() }).passthrough()),
  stop_reason: z.string().nullable().optional(),
  usage: z.object({
    input_tokens: z.number().int().nonnegative(),
    output_tokens: z.number().int().nonnegative(),
    cache_read_input_tokens: z.number().int().nonnegative().nullable().optional(),
    cache_creation_input_tokens: z.number().int().nonnegative().nullable().optional(),
    cache_creation: z
      .object({
        ephemeral_5m_input_tokens: z.number().int().nonnegative().nullable().optional(),
        ephemeral_1h_input_tokens: z.number().int().nonnegative().nullable().optional(),
      })
      .nullable()
      .optional(),
  }),
});

/** Anthropic stop reasons in OpenAI's finish_reason vocabulary, so callers see one set. */
const STOP_REASONS: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  max_tokens: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

/** The usage a message body bills even when its content is unusable; null when it states none. */
export function billedAnthropicUsage(body: unknown): Usage | null {
  const parsed = z.object({ usage: messageSchema.shape.usage }).safeParse(body);
  return parsed.success ? usageFromAnthropic(parsed.data.usage) : null;
}

export function parseAnthropicMessage(body: unknown, model: string): ParsedChat {
  const parsed = messageSchema.safeParse(body);
  if (!parsed.success) {
    throw new MalformedResponseError(`anthropic ${model}: message has no valid ${describeIssues(parsed.error)}`, {
      provider: "anthropic",
      model,
    });
  }
  const blocks = parsed.data.content;
  const toolCalls: ChatToolCall[] = [];
  let json: string | null = null;
  for (const b of blocks) {
    if (b.type !== "tool_use") continue;
    const id = typeof b["id"] === "string" ? b["id"] : "";
    const name = typeof b["name"] === "string" ? b["name"] : "";
    const input = b["input"] ?? {};
    if (name === JSON_OUTPUT_TOOL) json = JSON.stringify(input);
    else toolCalls.push({ id, name, arguments: JSON.stringify(input) });
  }
  const text = blocks
    .filter((b) => b.type === "text")
    .map((b) => b.text ?? "")
    .join("");
  const stop = parsed.data.stop_reason ?? "unknown";
  // The JSON-output tool's input is the answer: a plain stop, unless real tools were called too.
  const finishReason = json !== null && toolCalls.length === 0 ? "stop" : (STOP_REASONS[stop] ?? stop);
  return {
    content: json ?? text,
    toolCalls,
    refusal: stop === "refusal" ? text : null,
    usage: usageFromAnthropic(parsed.data.usage),
    finishReason,
  };
}
