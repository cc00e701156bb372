import type { LlmResponse, Message } from "@costwise/schemas";
import { checkParameters, NOT_IN_CONTRACT, unsupported, type GatewayCall, type ParameterTable } from "./call.ts";
import { asBody, invalidType, optionalBoolean, optionalNumber, requiredString, streamPieces, textContent, truncated, type Body, type Dialect } from "./dialect.ts";
import { GatewayError, unsupportedParameter, type GatewayErrorKind } from "./errors.ts";

/** Messages API request fields (https://docs.anthropic.com/en/api/messages). */
export const ANTHROPIC_PARAMETERS: ParameterTable = {
  model: { support: "supported" },
  messages: { support: "supported" },
  max_tokens: { support: "supported" },
  system: { support: "supported" },
  temperature: { support: "supported" },
  stream: { support: "supported" },
  metadata: { support: "ignored" },
  tools: unsupported(),
  tool_choice: unsupported((v) => (v as Body | null)?.type === "none"),
  stop_sequences: unsupported((v) => Array.isArray(v) && v.length === 0),
  top_k: unsupported(),
  top_p: unsupported((v) => v === 1),
  thinking: unsupported((v) => (v as Body | null)?.type === "disabled"),
  service_tier: unsupported((v) => v === "auto" || v === "standard_only"),
  container: unsupported(),
  mcp_servers: unsupported(),
};

function parseMessages(v: unknown): Message[] {
  if (v === undefined || v === null) throw new GatewayError("invalid_request", "messages: Field required", { param: "messages" });
  if (!Array.isArray(v)) throw invalidType("messages", "an array", v);
  if (v.length === 0) throw new GatewayError("invalid_request", "messages: at least one message is required", { param: "messages" });
  return v.map((raw, i) => {
    const path = `messages.${i}`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalidType(path, "an object", raw);
    const m = raw as Body;
    if (m.role === "system") {
      throw new GatewayError("invalid_request", `${path}.role: Unexpected role "system". The Messages API accepts a top-level \`system\` parameter, not "system" as an input message role.`, { param: `${path}.role` });
    }
    if (m.role !== "user" && m.role !== "assistant") throw new GatewayError("invalid_request", `${path}.role: Input should be 'user' or 'assistant'`, { param: `${path}.role` });
    if (m.content === undefined || m.content === null) throw new GatewayError("invalid_request", `${path}.content: Field required`, { param: `${path}.content` });
    return { role: m.role, content: textContent(m.content, `${path}.content`, "text blocks") };
  });
}

function parse(input: unknown): GatewayCall {
  const body = asBody(input);
  checkParameters(body, ANTHROPIC_PARAMETERS, (field) => new GatewayError("invalid_request", `${field}: Extra inputs are not permitted`, { param: field }));
  const model = requiredString(body, "model");
  if (body.max_tokens === undefined || body.max_tokens === null) throw new GatewayError("invalid_request", "max_tokens: Field required", { param: "max_tokens" });
  const maxTokens = optionalNumber(body, "max_tokens", 1, Number.MAX_SAFE_INTEGER, { integer: true });
  const temperature = optionalNumber(body, "temperature", 0, 1);
  const system = body.system === undefined || body.system === null ? null : textContent(body.system, "system", "text blocks");
  const messages = parseMessages(body.messages);
  if (messages[0]?.role !== "user") throw unsupportedParameter("messages.0.role", "a conversation must start with a user message");
  return { model, messages: system ? [{ role: "system", content: system }, ...messages] : messages, maxTokens, temperature, stream: optionalBoolean(body, "stream"), streamUsage: true };
}

// Anthropic counts cache reads apart from input_tokens; the pipeline's input_tokens include them.
function usage(resp: LlmResponse) {
  return {
    input_tokens: Math.max(0, resp.input_tokens - resp.cached_input_tokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: resp.cached_input_tokens,
    output_tokens: resp.output_tokens,
    service_tier: "standard",
  };
}

const stopReason = (resp: LlmResponse, maxTokens: number | null) => (truncated(resp, maxTokens) ? "max_tokens" : "end_turn");

const ERROR_TYPE: Record<GatewayErrorKind, string> = {
  invalid_request: "invalid_request_error",
  authentication: "authentication_error",
  not_found: "not_found_error",
  too_large: "request_too_large",
  rate_limit: "rate_limit_error",
  upstream: "api_error",
  unavailable: "overloaded_error",
  timeout: "api_error",
  internal: "api_error",
};

const event = (name: string, data: object) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

export const anthropic: Dialect = {
  api: "anthropic",
  parse,
  completion(resp, call) {
    return {
      id: `msg_${resp.request_id}`,
      type: "message",
      role: "assistant",
      model: resp.model ?? call.model,
      content: [{ type: "text", text: resp.content ?? "", citations: null }],
      stop_reason: stopReason(resp, call.maxTokens),
      stop_sequence: null,
      usage: usage(resp),
    };
  },
  stream(resp, call) {
    const message = { id: `msg_${resp.request_id}`, type: "message", role: "assistant", model: resp.model ?? call.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage(resp), output_tokens: 0 } };
    return [
      event("message_start", { type: "message_start", message }),
      event("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "", citations: null } }),
      event("ping", { type: "ping" }),
      ...streamPieces(resp.content ?? "").map((text) => event("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } })),
      event("content_block_stop", { type: "content_block_stop", index: 0 }),
      event("message_delta", { type: "message_delta", delta: { stop_reason: stopReason(resp, call.maxTokens), stop_sequence: null }, usage: { output_tokens: resp.output_tokens } }),
      event("message_stop", { type: "message_stop" }),
    ].join("");
  },
  error(err) {
    return { type: "error", error: { type: ERROR_TYPE[err.kind], message: err.message } };
  },
};
