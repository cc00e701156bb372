import { usageFromOpenAI, type ModelPrice, type Usage } from "@costwise/pricing";
import type OpenAI from "openai";
import { z } from "zod";
import { InvalidRequestError, MalformedResponseError } from "./errors.ts";
import type { ChatRequest } from "./types.ts";

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

const OPENAI_ROLES = new Set(["system", "developer", "user", "assistant"]);

export function buildOpenAIChatParams(req: ChatRequest, price: ModelPrice): ChatParams {
  const messages = req.messages.map((m): MessageParam => {
    if (!OPENAI_ROLES.has(m.role)) {
      throw new InvalidRequestError(`role "${m.role}" is not supported (system, developer, user, assistant)`, {
        provider: "openai",
        model: req.model,
      });
    }
    return { role: m.role as "system" | "developer" | "user" | "assistant", content: m.content };
  });
  const params: ChatParams = { model: req.model, messages };
  const reasoning = isReasoningModel(price.id);
  if (req.maxTokens != null) {
    // max_tokens is deprecated but still the field the GPT-4o/4.1 families document; reasoning models refuse it.
    if (reasoning) params.max_completion_tokens = req.maxTokens;
    else params.max_tokens = req.maxTokens;
  }
  // Reasoning models answer 400 to any temperature other than 1, so it is left at their default.
  if (req.temperature != null && !reasoning) params.temperature = req.temperature;
  return params;
}

const completionSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullable().optional(), refusal: z.string().nullable().optional() }),
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
  return {
    content: choice.message.content ?? choice.message.refusal ?? "",
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
