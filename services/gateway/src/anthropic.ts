import type { ContentPart, LlmResponse, Message, Tool, ToolChoice } from "@costwise/schemas";
import { checkParameters, NO_OPTIONS, NOT_IN_CONTRACT, unsupported, type CallOptions, type GatewayCall, type ParameterTable } from "./call.ts";
import { asBody, invalidType, optionalBoolean, optionalNumber, optionalString, requiredString, schemaText, stopSequences, streamPieces, textContent, truncated, type Body, type Dialect } from "./dialect.ts";
import { GatewayError, unsupportedParameter, type GatewayErrorKind } from "./errors.ts";

/** Messages API request fields (https://docs.anthropic.com/en/api/messages). */
export const ANTHROPIC_PARAMETERS: ParameterTable = {
  model: { support: "supported" },
  messages: { support: "supported" },
  max_tokens: { support: "supported" },
  system: { support: "supported" },
  temperature: { support: "supported" },
  stream: { support: "supported" },
  metadata: { support: "supported" },
  tools: { support: "supported" },
  tool_choice: { support: "supported" },
  stop_sequences: { support: "supported" },
  top_k: unsupported(),
  top_p: { support: "supported" },
  thinking: { support: "supported" },
  service_tier: unsupported((v) => v === "auto" || v === "standard_only"),
  container: unsupported(),
  mcp_servers: unsupported(),
};

const asObject = (raw: unknown, path: string): Body => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw invalidType(path, "an object", raw);
  return raw as Body;
};

const notCarried = (path: string, type: unknown) => new GatewayError("invalid_request", `unsupported parameter: '${path}' ${JSON.stringify(type)} (${NOT_IN_CONTRACT})`, { param: path, code: "unsupported_parameter" });

function imagePart(b: Body, path: string): ContentPart {
  const src = asObject(b.source, `${path}.source`);
  if (src.type === "base64") return { type: "image", text: null, image_url: `data:${requiredString(src, "media_type", `${path}.source.media_type`)};base64,${requiredString(src, "data", `${path}.source.data`)}`, detail: null };
  if (src.type === "url") return { type: "image", text: null, image_url: requiredString(src, "url", `${path}.source.url`), detail: null };
  throw notCarried(`${path}.source.type`, src.type);
}

/** A tool result's content: a string, or text blocks. */
function resultText(v: unknown, path: string): string {
  if (v === undefined || v === null) return "";
  return textContent(v, path, "text blocks");
}

/**
 * Messages API turns in the request contract's terms: a user turn's tool_result blocks become tool
 * messages (in order, before the rest of the turn), an assistant turn's tool_use blocks its tool
 * calls, image blocks image parts. Thinking blocks from earlier turns are not carried.
 */
function parseMessages(v: unknown): Message[] {
  if (v === undefined || v === null) throw new GatewayError("invalid_request", "messages: Field required", { param: "messages" });
  if (!Array.isArray(v)) throw invalidType("messages", "an array", v);
  if (v.length === 0) throw new GatewayError("invalid_request", "messages: at least one message is required", { param: "messages" });
  const out: Message[] = [];
  v.forEach((raw, i) => {
    const path = `messages.${i}`;
    const m = asObject(raw, path);
    if (m.role === "system") {
      throw new GatewayError("invalid_request", `${path}.role: Unexpected role "system". The Messages API accepts a top-level \`system\` parameter, not "system" as an input message role.`, { param: `${path}.role` });
    }
    if (m.role !== "user" && m.role !== "assistant") throw new GatewayError("invalid_request", `${path}.role: Input should be 'user' or 'assistant'`, { param: `${path}.role` });
    if (m.content === undefined || m.content === null) throw new GatewayError("invalid_request", `${path}.content: Field required`, { param: `${path}.content` });
    if (typeof m.content === "string") {
      out.push({ role: m.role, content: m.content });
      return;
    }
    if (!Array.isArray(m.content)) throw invalidType(`${path}.content`, "a string or an array of content blocks", m.content);
    const parts: ContentPart[] = [];
    const calls: NonNullable<Message["tool_calls"]> = [];
    m.content.forEach((rawBlock, j) => {
      const at = `${path}.content[${j}]`;
      const b = asObject(rawBlock, at);
      if (b.type === "text") {
        if (typeof b.text !== "string") throw invalidType(`${at}.text`, "a string", b.text);
        parts.push({ type: "text", text: b.text, image_url: null, detail: null });
      } else if (b.type === "image" && m.role === "user") {
        parts.push(imagePart(b, at));
      } else if (b.type === "tool_result" && m.role === "user") {
        const text = resultText(b.content, `${at}.content`);
        out.push({ role: "tool", content: b.is_error === true ? `Error: ${text}` : text, tool_call_id: requiredString(b, "tool_use_id", `${at}.tool_use_id`) });
      } else if (b.type === "tool_use" && m.role === "assistant") {
        calls.push({ id: requiredString(b, "id", `${at}.id`), name: requiredString(b, "name", `${at}.name`), arguments: JSON.stringify(asObject(b.input ?? {}, `${at}.input`)) });
      } else if ((b.type === "thinking" || b.type === "redacted_thinking") && m.role === "assistant") {
        // Earlier reasoning is not replayed.
      } else {
        throw notCarried(`${at}.type`, b.type);
      }
    });
    const text = parts.filter((p) => p.type === "text").map((p) => p.text!).join("\n");
    const hasImages = parts.some((p) => p.type !== "text");
    // A turn that only carried tool results has nothing more to say.
    if (m.role === "user" && parts.length === 0 && out.at(-1)?.role === "tool") return;
    const msg: Message = { role: m.role, content: text };
    if (hasImages) msg.parts = parts;
    if (calls.length > 0) msg.tool_calls = calls;
    out.push(msg);
  });
  return out;
}

function parseTools(v: unknown): Tool[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidType("tools", "an array", v);
  return v.map((raw, i) => {
    const t = asObject(raw, `tools.${i}`);
    // Server and client tools of Anthropic's own (bash, text editor, web search) have a type.
    if (t.type !== undefined && t.type !== null && t.type !== "custom") throw notCarried(`tools.${i}.type`, t.type);
    return {
      name: requiredString(t, "name", `tools.${i}.name`),
      description: optionalString(t, "description", `tools.${i}.description`),
      parameters: schemaText(t.input_schema, `tools.${i}.input_schema`),
      strict: null,
    };
  });
}

function parseToolChoice(v: unknown): { choice: ToolChoice | null; parallel: boolean | null } {
  if (v === undefined || v === null) return { choice: null, parallel: null };
  const c = asObject(v, "tool_choice");
  const parallel = c.disable_parallel_tool_use === true ? false : null;
  switch (c.type) {
    case "auto":
      return { choice: { mode: "auto", name: null }, parallel };
    case "any":
      return { choice: { mode: "required", name: null }, parallel };
    case "none":
      return { choice: { mode: "none", name: null }, parallel };
    case "tool":
      return { choice: { mode: "tool", name: requiredString(c, "name", "tool_choice.name") }, parallel };
    default:
      throw new GatewayError("invalid_request", "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'", { param: "tool_choice.type" });
  }
}

/** Extended thinking's budget as the contract's reasoning effort (the executor maps it back per model). */
function effortOf(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const t = asObject(v, "thinking");
  if (t.type === "disabled") return null;
  if (t.type !== "enabled") throw new GatewayError("invalid_request", "thinking.type: Input should be 'enabled' or 'disabled'", { param: "thinking.type" });
  const budget = optionalNumber(t, "budget_tokens", 1024, Number.MAX_SAFE_INTEGER, { integer: true });
  if (budget === null) throw new GatewayError("invalid_request", "thinking.enabled.budget_tokens: Field required", { param: "thinking.budget_tokens" });
  return budget < 4_096 ? "low" : budget < 16_384 ? "medium" : "high";
}

function parseOptions(body: Body): CallOptions {
  const { choice, parallel } = parseToolChoice(body.tool_choice);
  const metadata = body.metadata === undefined || body.metadata === null ? {} : asObject(body.metadata, "metadata");
  return {
    ...NO_OPTIONS,
    tools: parseTools(body.tools),
    toolChoice: choice,
    parallelToolCalls: parallel,
    stop: stopSequences(body.stop_sequences, "stop_sequences"),
    topP: optionalNumber(body, "top_p", 0, 1),
    reasoningEffort: effortOf(body.thinking),
    user: optionalString(metadata, "user_id", "metadata.user_id"),
  };
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
  return {
    model, messages: system ? [{ role: "system", content: system }, ...messages] : messages, maxTokens, temperature, stream: optionalBoolean(body, "stream"), streamUsage: true,
    options: parseOptions(body),
  };
}

// Anthropic counts cache reads apart from input_tokens; the pipeline's input_tokens include them.
function usage(resp: LlmResponse) {
  return {
    input_tokens: Math.max(0, resp.input_tokens - resp.cached_input_tokens - (resp.cache_write_input_tokens ?? 0)),
    cache_creation_input_tokens: resp.cache_write_input_tokens ?? 0,
    cache_read_input_tokens: resp.cached_input_tokens,
    output_tokens: resp.output_tokens,
    service_tier: "standard",
  };
}

const STOP: Record<string, string> = { stop: "end_turn", length: "max_tokens", tool_calls: "tool_use", content_filter: "refusal" };

/** The pipeline's finish reason in Anthropic's vocabulary; older responses carry none. */
const stopReason = (resp: LlmResponse, maxTokens: number | null) =>
  (resp.tool_calls?.length ?? 0) > 0 ? "tool_use" : resp.finish_reason ? (STOP[resp.finish_reason] ?? "end_turn") : truncated(resp, maxTokens) ? "max_tokens" : "end_turn";

const toolUseBlocks = (resp: LlmResponse) => (resp.tool_calls ?? []).map((c) => ({ type: "tool_use" as const, id: c.id, name: c.name, input: parseInput(c.arguments) }));

function parseInput(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/** Text first (when there is any, or when nothing else is), then the tool calls. */
function contentBlocks(resp: LlmResponse): object[] {
  const text = resp.content ?? "";
  const tools = toolUseBlocks(resp);
  return [...(text !== "" || tools.length === 0 ? [{ type: "text", text, citations: null }] : []), ...tools];
}

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
      content: contentBlocks(resp),
      stop_reason: stopReason(resp, call.maxTokens),
      stop_sequence: null,
      usage: usage(resp),
    };
  },
  stream(resp, call) {
    const message = { id: `msg_${resp.request_id}`, type: "message", role: "assistant", model: resp.model ?? call.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage(resp), output_tokens: 0 } };
    const blocks = contentBlocks(resp) as ({ type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: unknown })[];
    const frames = blocks.flatMap((b, index) => {
      const start = b.type === "text" ? { type: "text", text: "", citations: null } : { type: "tool_use", id: b.id, name: b.name, input: {} };
      const deltas = b.type === "text"
        ? streamPieces(b.text).map((text) => ({ type: "text_delta", text }))
        : streamPieces(JSON.stringify(b.input), 32).map((partial_json) => ({ type: "input_json_delta", partial_json }));
      return [
        event("content_block_start", { type: "content_block_start", index, content_block: start }),
        ...(index === 0 ? [event("ping", { type: "ping" })] : []),
        ...deltas.map((delta) => event("content_block_delta", { type: "content_block_delta", index, delta })),
        event("content_block_stop", { type: "content_block_stop", index }),
      ];
    });
    return [
      event("message_start", { type: "message_start", message }),
      ...frames,
      event("message_delta", { type: "message_delta", delta: { stop_reason: stopReason(resp, call.maxTokens), stop_sequence: null }, usage: { output_tokens: resp.output_tokens } }),
      event("message_stop", { type: "message_stop" }),
    ].join("");
  },
  error(err) {
    return { type: "error", error: { type: ERROR_TYPE[err.kind], message: err.message } };
  },
};
