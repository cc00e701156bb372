import { createHash } from "node:crypto";
import { requestOptions, type LlmRequest, type Message } from "@costwise/schemas";
import type { ModelPrice } from "@costwise/pricing";
import { buildAnthropicParams, buildOpenAIChatParams } from "@costwise/providers";

/** The one endpoint costwise batches on OpenAI. */
export const OPENAI_BATCH_ENDPOINT = "/v1/chat/completions";

// Anthropic's rule for custom_id; OpenAI accepts any string, but one id scheme for both keeps results uniform.
const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;

/** custom_id = request_id whenever the provider accepts it; otherwise a stable hash of it. */
export function customIdOf(requestId: string): string {
  return CUSTOM_ID.test(requestId) ? requestId : `h_${createHash("sha256").update(requestId).digest("base64url")}`;
}

/** One request as a line of a provider batch, serialised once. */
export interface BatchLine {
  readonly customId: string;
  readonly text: string;
  readonly bytes: number;
}

/**
 * The request exactly as the real-time path would send it (same parameter mapping as
 * @costwise/providers), wrapped in the provider's batch line format.
 */
export function buildLine(price: ModelPrice, request: LlmRequest, messages: readonly Message[]): BatchLine {
  const customId = customIdOf(request.request_id);
  // Tools, output format, stop, seed and sampling options travel exactly as on the real-time path.
  const chat = { model: price.id, messages, maxTokens: request.max_tokens, temperature: request.temperature, ...requestOptions(request) };
  const line =
    price.provider === "openai"
      ? { custom_id: customId, method: "POST", url: OPENAI_BATCH_ENDPOINT, body: buildOpenAIChatParams(chat, price) }
      : { custom_id: customId, params: buildAnthropicParams(chat, price) };
  const text = JSON.stringify(line);
  return { customId, text, bytes: Buffer.byteLength(text) };
}
