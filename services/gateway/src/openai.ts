import type { ContentPart, LlmResponse, Message, ResponseFormat, Tool, ToolCall, ToolChoice } from "@costwise/schemas";
import { checkParameters, NOT_IN_CONTRACT, unsupported, type CallOptions, type GatewayCall, type ParameterTable } from "./call.ts";
import { asBody, invalidType, optionalBoolean, optionalNumber, optionalString, requiredString, schemaText, stopSequences, streamPieces, stringMap, truncated, type Body, type Dialect } from "./dialect.ts";
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
  user: { support: "supported" },
  safety_identifier: { support: "supported" },
  metadata: { support: "supported" },
  store: { support: "ignored" },
  prompt_cache_key: { support: "ignored" },
  tools: { support: "supported" },
  tool_choice: { support: "supported" },
  parallel_tool_calls: { support: "supported" },
  response_format: { support: "supported" },
  stop: { support: "supported" },
  seed: { support: "supported" },
  top_p: { support: "supported" },
  presence_penalty: { support: "supported" },
  frequency_penalty: { support: "supported" },
  reasoning_effort: { support: "supported" },
  // The legacy function-calling fields; `tools` carries the same.
  functions: unsupported(),
  function_call: unsupported((v) => v === "none"),
  n: unsupported((v) => v === 1),
  logit_bias: unsupported((v) => typeof v === "object" && v !== null && Object.keys(v).length === 0),
  logprobs: unsupported((v) => v === false),
  top_logprobs: unsupported((v) => v === 0),
  modalities: unsupported((v) => Array.isArray(v) && v.length === 1 && v[0] === "text"),
  audio: unsupported(),
  prediction: unsupported(),
  verbosity: unsupported(),
  web_search_options: unsupported(),
  service_tier: unsupported((v) => v === "auto" || v === "default"),
};

const ROLES: Record<string, Message["role"]> = { system: "system", developer: "system", user: "user", assistant: "assistant", tool: "tool" };

/** Chat Completions content: a string, or text and image_url parts (images only in user messages). */
function content(v: unknown, path: string, role: string): { content: string; parts: ContentPart[] } {
  if (typeof v === "string") return { content: v, parts: [] };
  if (!Array.isArray(v)) throw invalidType(path, "a string or an array of content parts", v);
  const parts: ContentPart[] = v.map((raw, i) => {
    const p = raw as Body | null;
    const at = `${path}[${i}]`;
    if (typeof p !== "object" || p === null) throw invalidType(at, "an object", p);
    if (p.type === "text") {
      if (typeof p.text !== "string") throw invalidType(`${at}.text`, "a string", p.text);
      return { type: "text", text: p.text, image_url: null, detail: null };
    }
    if (p.type === "image_url" && role === "user") {
      const image = p.image_url as Body | null;
      if (typeof image !== "object" || image === null || typeof image.url !== "string") throw invalidType(`${at}.image_url.url`, "a string", image?.url);
      return { type: "image", text: null, image_url: image.url, detail: optionalString(image, "detail", `${at}.image_url.detail`) };
    }
    throw unsupportedParameter(`${at}.type`, `content part ${JSON.stringify(p.type)} is ${NOT_IN_CONTRACT}${p.type === "image_url" ? " outside user messages" : ""}`);
  });
  const text = parts.filter((p) => p.type === "text").map((p) => p.text!).join("\n");
  // Text-only parts collapse to their text, as before: nothing else to carry.
  return { content: text, parts: parts.some((p) => p.type !== "text") ? parts : [] };
}

function toolCalls(v: unknown, path: string): ToolCall[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidType(path, "an array", v);
  return v.map((raw, i) => {
    const c = raw as Body | null;
    const at = `${path}[${i}]`;
    if (typeof c !== "object" || c === null) throw invalidType(at, "an object", c);
    if (c.type !== undefined && c.type !== "function") throw unsupportedParameter(`${at}.type`, `tool call type ${JSON.stringify(c.type)} is ${NOT_IN_CONTRACT}`);
    const f = c.function as Body | null;
    if (typeof f !== "object" || f === null) throw invalidType(`${at}.function`, "an object", f);
    if (typeof f.arguments !== "string") throw invalidType(`${at}.function.arguments`, "a string", f.arguments);
    return { id: requiredString(c, "id", `${at}.id`), name: requiredString(f, "name", `${at}.function.name`), arguments: f.arguments };
  });
}

function parseMessages(v: unknown): Message[] {
  if (v === undefined || v === null) throw new GatewayError("invalid_request", "Missing required parameter: 'messages'.", { param: "messages", code: "missing_required_parameter" });
  if (!Array.isArray(v)) throw invalidType("messages", "an array", v);
  if (v.length === 0) throw new GatewayError("invalid_request", "Invalid 'messages': empty array. Expected an array with minimum length 1.", { param: "messages", code: "empty_array" });
  return v.map((raw, i) => {
    const path = `messages[${i}]`;
    const m = asMessage(raw, path);
    const role = typeof m.role === "string" ? ROLES[m.role] : undefined;
    if (m.role === "function") throw unsupportedParameter(`${path}.role`, `'function' messages are ${NOT_IN_CONTRACT} (use 'tool')`);
    if (!role) {
      throw new GatewayError("invalid_request", `Invalid value: ${JSON.stringify(m.role)}. Supported values are: 'system', 'developer', 'user', 'assistant' and 'tool'.`, { param: `${path}.role`, code: "invalid_value" });
    }
    for (const f of ["function_call", "audio"]) if (m[f] !== undefined && m[f] !== null) throw unsupportedParameter(`${path}.${f}`, NOT_IN_CONTRACT);
    const calls = role === "assistant" ? toolCalls(m.tool_calls, `${path}.tool_calls`) : [];
    if (role !== "assistant" && m.tool_calls !== undefined && m.tool_calls !== null) throw unsupportedParameter(`${path}.tool_calls`, "only assistant messages carry tool calls");
    // An assistant turn that only called tools has null content.
    if ((m.content === undefined || m.content === null) && !(role === "assistant" && calls.length > 0)) {
      throw new GatewayError("invalid_request", `Missing required parameter: '${path}.content'.`, { param: `${path}.content`, code: "missing_required_parameter" });
    }
    const body = m.content === undefined || m.content === null ? { content: "", parts: [] } : content(m.content, `${path}.content`, role);
    const out: Message = { role, content: body.content };
    if (body.parts.length > 0) out.parts = body.parts;
    if (calls.length > 0) out.tool_calls = calls;
    if (role === "tool") out.tool_call_id = requiredString(m, "tool_call_id", `${path}.tool_call_id`);
    return out;
  });
}

function asMessage(raw: unknown, path: string): Body {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalidType(path, "an object", raw);
  return raw as Body;
}

function parseTools(v: unknown): Tool[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidType("tools", "an array", v);
  return v.map((raw, i) => {
    const t = asMessage(raw, `tools[${i}]`);
    if (t.type !== "function") throw unsupportedParameter(`tools[${i}].type`, `tool type ${JSON.stringify(t.type)} is ${NOT_IN_CONTRACT} (function tools only)`);
    const f = asMessage(t.function, `tools[${i}].function`);
    const strict = f.strict;
    if (strict !== undefined && strict !== null && typeof strict !== "boolean") throw invalidType(`tools[${i}].function.strict`, "a boolean", strict);
    return {
      name: requiredString(f, "name", `tools[${i}].function.name`),
      description: optionalString(f, "description", `tools[${i}].function.description`),
      // No parameters: a function without arguments.
      parameters: f.parameters === undefined || f.parameters === null ? JSON.stringify({ type: "object", properties: {} }) : schemaText(f.parameters, `tools[${i}].function.parameters`),
      strict: typeof strict === "boolean" ? strict : null,
    };
  });
}

function parseToolChoice(v: unknown): ToolChoice | null {
  if (v === undefined || v === null) return null;
  if (v === "auto" || v === "none" || v === "required") return { mode: v, name: null };
  const c = v as Body;
  if (typeof c === "object" && c.type === "function" && typeof (c.function as Body | null)?.name === "string") return { mode: "tool", name: (c.function as Body).name as string };
  if (typeof c === "object" && (c.type === "allowed_tools" || c.type === "custom")) throw unsupportedParameter("tool_choice", `tool_choice type '${String(c.type)}' is ${NOT_IN_CONTRACT}`);
  throw new GatewayError("invalid_request", "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or {type: 'function', function: {name}}.", { param: "tool_choice", code: "invalid_value" });
}

function parseResponseFormat(v: unknown): ResponseFormat | null {
  if (v === undefined || v === null) return null;
  const f = asMessage(v, "response_format");
  if (f.type === "text") return null;
  if (f.type === "json_object") return { type: "json_object", name: null, schema: null, strict: null };
  if (f.type === "json_schema") {
    const js = asMessage(f.json_schema, "response_format.json_schema");
    const strict = js.strict;
    return {
      type: "json_schema", name: requiredString(js, "name", "response_format.json_schema.name"),
      schema: js.schema === undefined || js.schema === null ? JSON.stringify({ type: "object" }) : schemaText(js.schema, "response_format.json_schema.schema"),
      strict: typeof strict === "boolean" ? strict : null,
    };
  }
  throw new GatewayError("invalid_request", `Invalid value: ${JSON.stringify(f.type)}. Supported values are: 'text', 'json_object' and 'json_schema'.`, { param: "response_format.type", code: "invalid_value" });
}

function parseOptions(body: Body): CallOptions {
  const seed = optionalNumber(body, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, { integer: true });
  const effort = optionalString(body, "reasoning_effort");
  if (effort !== null && !["minimal", "low", "medium", "high"].includes(effort)) {
    throw new GatewayError("invalid_request", `Invalid value: ${JSON.stringify(effort)}. Supported values are: 'minimal', 'low', 'medium' and 'high'.`, { param: "reasoning_effort", code: "invalid_value" });
  }
  return {
    tools: parseTools(body.tools),
    toolChoice: parseToolChoice(body.tool_choice),
    parallelToolCalls: body.parallel_tool_calls === undefined || body.parallel_tool_calls === null ? null : optionalBoolean(body, "parallel_tool_calls"),
    responseFormat: parseResponseFormat(body.response_format),
    stop: stopSequences(body.stop, "stop"),
    seed,
    topP: optionalNumber(body, "top_p", 0, 1),
    presencePenalty: optionalNumber(body, "presence_penalty", -2, 2),
    frequencyPenalty: optionalNumber(body, "frequency_penalty", -2, 2),
    reasoningEffort: effort,
    user: optionalString(body, "safety_identifier") ?? optionalString(body, "user"),
    metadata: stringMap(body.metadata, "metadata"),
  };
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
  return { model, messages, maxTokens, temperature, stream, streamUsage, options: parseOptions(body) };
}

function usage(resp: LlmResponse) {
  return {
    prompt_tokens: resp.input_tokens,
    completion_tokens: resp.output_tokens,
    total_tokens: resp.input_tokens + resp.output_tokens,
    prompt_tokens_details: { cached_tokens: resp.cached_input_tokens, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: resp.reasoning_tokens ?? 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

const createdS = (resp: LlmResponse) => Math.floor(resp.created_at / 1000);
/** The pipeline's finish reason (already in OpenAI's vocabulary); older responses carry none. */
const finishReason = (resp: LlmResponse, maxTokens: number | null) =>
  (resp.tool_calls?.length ?? 0) > 0 ? "tool_calls" : (resp.finish_reason ?? (truncated(resp, maxTokens) ? "length" : "stop"));

const wireCalls = (resp: LlmResponse) => (resp.tool_calls ?? []).map((c) => ({ id: c.id, type: "function" as const, function: { name: c.name, arguments: c.arguments } }));

/** The assistant message: content null when the model only called tools, as the API returns it. */
function message(resp: LlmResponse) {
  const calls = wireCalls(resp);
  const content = calls.length > 0 && (resp.content ?? "") === "" ? null : (resp.content ?? "");
  return { role: "assistant", content, refusal: resp.refusal ?? null, annotations: [], ...(calls.length > 0 ? { tool_calls: calls } : {}) };
}

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
      choices: [{ index: 0, message: message(resp), logprobs: null, finish_reason: finishReason(resp, call.maxTokens) }],
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
      // Tool calls as the API streams them: id, type and name first, then the arguments in pieces.
      ...wireCalls(resp).flatMap((c, index) => [
        { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, id: c.id, type: "function", function: { name: c.function.name, arguments: "" } }] }, logprobs: null, finish_reason: null }], ...withUsage },
        ...streamPieces(c.function.arguments, 32).map((piece) => ({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: piece } }] }, logprobs: null, finish_reason: null }], ...withUsage })),
      ]),
      { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason(resp, call.maxTokens) }], ...withUsage },
      ...(call.streamUsage ? [{ ...base, choices: [], usage: usage(resp) }] : []),
    ];
    return `${frames.map((f) => `data: ${JSON.stringify(f)}\n\n`).join("")}data: [DONE]\n\n`;
  },
  error(err) {
    return { error: { message: err.message, type: ERROR_TYPE[err.kind], param: err.extra.param ?? null, code: err.extra.code ?? DEFAULT_CODE[err.kind] ?? null } };
  },
};
