import type Anthropic from "@anthropic-ai/sdk";
import { usageFromAnthropic, type ModelPrice, type Usage } from "@costwise/pricing";
import { z } from "zod";
import { InvalidRequestError, MalformedResponseError } from "./errors.ts";
import { describeIssues, type ParsedChat } from "./openai-chat.ts";
import type { ChatMessage, ChatRequest } from "./types.ts";

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
 * Anthropic takes instructions in a top-level `system` parameter and only user/assistant turns in
 * `messages`, so OpenAI-style system (and developer) messages are lifted out wherever they appear.
 */
export function splitSystem(messages: readonly ChatMessage[], model: string): AnthropicPrompt {
  const system: string[] = [];
  const turns: Anthropic.Messages.MessageParam[] = [];
  for (const m of messages) {
    if (m.role === "system" || m.role === "developer") system.push(m.content);
    else if (m.role === "user" || m.role === "assistant") turns.push({ role: m.role, content: m.content });
    else {
      throw new InvalidRequestError(`role "${m.role}" is not supported (system, developer, user, assistant)`, {
        provider: "anthropic",
        model,
      });
    }
  }
  return { system: system.length > 0 ? system.join(ANTHROPIC_SYSTEM_SEPARATOR) : undefined, messages: turns };
}

export function buildAnthropicParams(req: ChatRequest, price: ModelPrice): MessageParams {
  const { system, messages } = splitSystem(req.messages, req.model);
  const params: MessageParams = {
    model: req.model,
    messages,
    max_tokens: req.maxTokens ?? Math.min(DEFAULT_ANTHROPIC_MAX_TOKENS, price.maxOutputTokens),
  };
  if (system !== undefined) params.system = system;
  if (req.temperature != null) params.temperature = req.temperature;
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
  const content = parsed.data.content
    .filter((b) => b.type === "text")
    .map((b) => b.text ?? "")
    .join("");
  const stop = parsed.data.stop_reason ?? "unknown";
  return { content, usage: usageFromAnthropic(parsed.data.usage), finishReason: STOP_REASONS[stop] ?? stop };
}
