import type { LlmResponse, Message } from "@costwise/schemas";
import { checkParameters, NOT_IN_CONTRACT, unsupported, type GatewayCall, type ParameterTable } from "./call.ts";
import { asBody, invalidType, optionalBoolean, optionalNumber, requiredString, streamPieces, textContent, truncated, type Body, type Dialect } from "./dialect.ts";
import { GatewayError, unsupportedParameter, type GatewayErrorKind } from "./errors.ts";

/** Chat Completions request fields (https://platform.openai.com/docs/api-reference/chat/create). */
export const OPENAI_PARAMETERS: ParameterTable = {
  model: { support: "supported" },
  messages: { support: "supported" },
  max_tokens: { support: "supported" },
  max_completion_tokens: { support: "supported" },
  temperature: { support: "supported" },
  stream: { support: "supported" },
  stream_options: { support: "supported" },
  user: { support: "ignored" },
  metadata: { support: "ignored" },
  store: { support: "ignored" },
  safety_identifier: { support: "ignored" },
  prompt_cache_key: { support: "ignored" },
  tools: unsupported(),
  tool_choice: unsupported((v) => v === "none"),
  parallel_tool_calls: unsupported(),
  functions: unsupported(),
  function_call: unsupported((v) => v === "none"),
  response_format: unsupported((v) => (v as Body | null)?.type === "text"),
  n: unsupported((v) => v === 1),
  stop: unsupported((v) => Array.isArray(v) && v.length === 0),
  top_p: unsupported((v) => v === 1),
  presence_penalty: unsupported((v) => v === 0),
  frequency_penalty: unsupported((v) => v === 0),
  logit_bias: unsupported((v) => typeof v === "object" && v !== null && Object.keys(v).length === 0),
  logprobs: unsupported((v) => v === false),
  top_logprobs: unsupported((v) => v === 0),
  seed: unsupported(),
  modalities: unsupported((v) => Array.isArray(v) && v.length === 1 && v[0] === "text"),
  audio: unsupported(),
  prediction: unsupported(),
  reasoning_effort: unsupported(),
  verbosity: unsupported(),
  web_search_options: unsupported(),
  service_tier: unsupported((v) => v === "auto" || v === "default"),
};

const ROLES: Record<string, Message["role"]> = { system: "system", developer: "system", user: "user", assistant: "assistant" };

function parseMessages(v: unknown): Message[] {
  if (v === undefined || v === null) throw new GatewayError("invalid_request", "Missing required parameter: 'messages'.", { param: "messages", code: "missing_required_parameter" });
  if (!Array.isArray(v)) throw invalidType("messages", "an array", v);
  if (v.length === 0) throw new GatewayError("invalid_request", "Invalid 'messages': empty array. Expected an array with minimum length 1.", { param: "messages", code: "empty_array" });
  return v.map((raw, i) => {
    const path = `messages[${i}]`;
    const m = asMessage(raw, path);
    const role = typeof m.role === "string" ? ROLES[m.role] : undefined;
    if (m.role === "tool" || m.role === "function") throw unsupportedParameter(`${path}.role`, `'${m.role}' messages are ${NOT_IN_CONTRACT}`);
    if (!role) {
      throw new GatewayError("invalid_request", `Invalid value: ${JSON.stringify(m.role)}. Supported values are: 'system', 'developer', 'user' and 'assistant'.`, { param: `${path}.role`, code: "invalid_value" });
    }
    for (const f of ["tool_calls", "function_call", "audio"]) if (m[f] !== undefined && m[f] !== null) throw unsupportedParameter(`${path}.${f}`, NOT_IN_CONTRACT);
    if (m.content === undefined || m.content === null) {
      throw new GatewayError("invalid_request", `Missing required parameter: '${path}.content'.`, { param: `${path}.content`, code: "missing_required_parameter" });
    }
    return { role, content: textContent(m.content, `${path}.content`, "text parts") };
  });
}

function asMessage(raw: unknown, path: string): Body {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalidType(path, "an object", raw);
  return raw as Body;
}

function parse(input: unknown): GatewayCall {
  const body = asBody(input);
  checkParameters(body, OPENAI_PARAMETERS, (field) => new GatewayError("invalid_request", `Unrecognized request argument supplied: ${field}`, { param: field }));
  const model = requiredString(body, "model");
  const messages = parseMessages(body.messages);
  const maxTokens = optionalNumber(body, "max_completion_tokens", 1, Number.MAX_SAFE_INTEGER, { integer: true }) ?? optionalNumber(body, "max_tokens", 1, Number.MAX_SAFE_INTEGER, { integer: true });
  const temperature = optionalNumber(body, "temperature", 0, 2);
  const stream = optionalBoolean(body, "stream");
  const options = body.stream_options;
  if (options !== undefined && options !== null && (typeof options !== "object" || Array.isArray(options))) throw invalidType("stream_options", "an object", options);
  if (options && !stream) throw new GatewayError("invalid_request", "The 'stream_options' parameter is only allowed when 'stream' is enabled.", { param: "stream_options", code: "invalid_value" });
  const streamUsage = options ? optionalBoolean(options as Body, "include_usage") : false;
  return { model, messages, maxTokens, temperature, stream, streamUsage };
}

function usage(resp: LlmResponse) {
  return {
    prompt_tokens: resp.input_tokens,
    completion_tokens: resp.output_tokens,
    total_tokens: resp.input_tokens + resp.output_tokens,
    prompt_tokens_details: { cached_tokens: resp.cached_input_tokens, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

const createdS = (resp: LlmResponse) => Math.floor(resp.created_at / 1000);
const finishReason = (resp: LlmResponse, maxTokens: number | null) => (truncated(resp, maxTokens) ? "length" : "stop");

const ERROR_TYPE: Record<GatewayErrorKind, string> = {
  invalid_request: "invalid_request_error",
  authentication: "invalid_request_error",
  not_found: "invalid_request_error",
  too_large: "invalid_request_error",
  rate_limit: "requests",
  upstream: "server_error",
  unavailable: "server_error",
  timeout: "server_error",
  internal: "server_error",
};

const DEFAULT_CODE: Partial<Record<GatewayErrorKind, string>> = { authentication: "invalid_api_key", rate_limit: "rate_limit_exceeded", timeout: "timeout" };

export const openai: Dialect = {
  api: "openai",
  parse,
  completion(resp, call) {
    return {
      id: `chatcmpl-${resp.request_id}`,
      object: "chat.completion",
      created: createdS(resp),
      model: resp.model ?? call.model,
      choices: [{ index: 0, message: { role: "assistant", content: resp.content ?? "", refusal: null, annotations: [] }, logprobs: null, finish_reason: finishReason(resp, call.maxTokens) }],
      usage: usage(resp),
      service_tier: "default",
      system_fingerprint: null,
    };
  },
  stream(resp, call) {
    const base = { id: `chatcmpl-${resp.request_id}`, object: "chat.completion.chunk", created: createdS(resp), model: resp.model ?? call.model, service_tier: "default", system_fingerprint: null };
    const withUsage = call.streamUsage ? { usage: null } : {};
    const frames = [
      { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }], ...withUsage },
      ...streamPieces(resp.content ?? "").map((content) => ({ ...base, choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }], ...withUsage })),
      { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason(resp, call.maxTokens) }], ...withUsage },
      ...(call.streamUsage ? [{ ...base, choices: [], usage: usage(resp) }] : []),
    ];
    return `${frames.map((f) => `data: ${JSON.stringify(f)}\n\n`).join("")}data: [DONE]\n\n`;
  },
  error(err) {
    return { error: { message: err.message, type: ERROR_TYPE[err.kind], param: err.extra.param ?? null, code: err.extra.code ?? DEFAULT_CODE[err.kind] ?? null } };
  },
};
