import { Ajv, type AnySchema } from "ajv";
import type { LlmRequest } from "@costwise/schemas";
import type { ModelPrice } from "@costwise/pricing";

/** Why a request's tools, formats or content cannot be served: a stable code and a sentence. */
export interface ContractProblem {
  readonly code: "INVALID_TOOL" | "INVALID_SCHEMA" | "INVALID_IMAGE" | "UNMATCHED_TOOL_RESULT" | "UNSUPPORTED_CONTENT" | "INVALID_PARAMETER";
  readonly reason: string;
}

// Both providers accept function names of this shape (OpenAI documents it; Anthropic's is the same).
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const TOOL_CHOICE_MODES = new Set(["auto", "none", "required", "tool"]);
const FORMATS = new Set(["text", "json_object", "json_schema"]);
const EFFORTS = new Set(["minimal", "low", "medium", "high"]);
// The image types both providers take as base64 data.
const DATA_URL = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}$/;
/** OpenAI's documented limit; Anthropic takes more, but a request must fit whichever model it is routed to. */
export const MAX_STOP_SEQUENCES = 4;
export const MAX_TOOLS = 128;

// One validator for the process: schemas are checked against the JSON Schema meta-schema and
// compiled (which resolves their $refs); formats are only annotations here.
const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: false });
const checkedSchemas = new Map<string, string | null>();
const SCHEMA_MEMO = 512;

/** null when `text` is a usable JSON Schema (an object schema when `objectOnly`), else why not. */
export function jsonSchemaProblem(text: string, objectOnly: boolean): string | null {
  const memoKey = `${objectOnly ? 1 : 0}${text}`;
  const memo = checkedSchemas.get(memoKey);
  if (memo !== undefined) return memo;
  const problem = checkJsonSchema(text, objectOnly);
  if (checkedSchemas.size >= SCHEMA_MEMO) checkedSchemas.delete(checkedSchemas.keys().next().value!);
  checkedSchemas.set(memoKey, problem);
  return problem;
}

function checkJsonSchema(text: string, objectOnly: boolean): string | null {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (err) {
    return `is not JSON (${(err as Error).message})`;
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return "is not a JSON Schema object";
  if (objectOnly && (schema as { type?: unknown }).type !== "object") return `must be an object schema ("type": "object")`;
  if (!ajv.validateSchema(schema as AnySchema)) return `is not a valid JSON Schema: ${ajv.errorsText(ajv.errors, { dataVar: "schema" })}`;
  try {
    ajv.compile(schema as AnySchema);
  } catch (err) {
    return `is not a valid JSON Schema: ${(err as Error).message}`;
  }
  return null;
}

function isJsonObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

/**
 * The checks of the tools / output-format / content-parts contract, cheapest first. They reject
 * what either provider would refuse for its shape, so nothing malformed reaches a provider.
 */
export function contractProblem(request: LlmRequest, price: ModelPrice): ContractProblem | null {
  const problem = (code: ContractProblem["code"], reason: string): ContractProblem => ({ code, reason });
  const tools = request.tools ?? [];
  if (tools.length > MAX_TOOLS) return problem("INVALID_TOOL", `${tools.length} tools: at most ${MAX_TOOLS} are allowed`);
  const names = new Set<string>();
  for (const [i, tool] of tools.entries()) {
    if (!TOOL_NAME.test(tool.name)) return problem("INVALID_TOOL", `tools[${i}].name ${JSON.stringify(tool.name)} must be 1-64 letters, digits, '_' or '-'`);
    if (names.has(tool.name)) return problem("INVALID_TOOL", `tools[${i}]: two tools are named '${tool.name}'`);
    names.add(tool.name);
    const why = jsonSchemaProblem(tool.parameters, true);
    if (why) return problem("INVALID_SCHEMA", `tools[${i}] ('${tool.name}') parameters ${why}`);
  }
  const choice = request.tool_choice ?? null;
  if (choice) {
    if (!TOOL_CHOICE_MODES.has(choice.mode)) return problem("INVALID_PARAMETER", `tool_choice mode '${choice.mode}' is not one of auto, none, required, tool`);
    if ((choice.mode === "required" || choice.mode === "tool") && tools.length === 0) return problem("INVALID_PARAMETER", `tool_choice '${choice.mode}' needs at least one tool`);
    if (choice.mode === "tool" && (!choice.name || !names.has(choice.name))) return problem("INVALID_PARAMETER", `tool_choice names tool '${choice.name ?? ""}', which is not among the request's tools`);
  }

  const format = request.response_format ?? null;
  if (format) {
    if (!FORMATS.has(format.type)) return problem("INVALID_PARAMETER", `response_format type '${format.type}' is not one of text, json_object, json_schema`);
    if (format.type === "json_schema") {
      if (format.schema === null) return problem("INVALID_SCHEMA", "response_format json_schema has no schema");
      if (format.name !== null && !TOOL_NAME.test(format.name)) return problem("INVALID_PARAMETER", `response_format name ${JSON.stringify(format.name)} must be 1-64 letters, digits, '_' or '-'`);
      // Both providers want an object at the root of a structured answer.
      const why = jsonSchemaProblem(format.schema, true);
      if (why) return problem("INVALID_SCHEMA", `response_format schema ${why}`);
    }
  }

  const calls = new Set<string>();
  const answered = new Set<string>();
  for (const [i, m] of request.messages.entries()) {
    for (const [j, c] of (m.tool_calls ?? []).entries()) {
      if (m.role !== "assistant") return problem("INVALID_PARAMETER", `messages[${i}]: only assistant messages carry tool_calls`);
      if (c.id === "" || calls.has(c.id)) return problem("INVALID_PARAMETER", `messages[${i}].tool_calls[${j}]: the call id ${JSON.stringify(c.id)} is empty or used twice`);
      if (!TOOL_NAME.test(c.name)) return problem("INVALID_TOOL", `messages[${i}].tool_calls[${j}].name ${JSON.stringify(c.name)} is not a valid tool name`);
      if (!isJsonObject(c.arguments)) return problem("INVALID_PARAMETER", `messages[${i}].tool_calls[${j}].arguments must be a JSON object as text`);
      calls.add(c.id);
    }
    if (m.role === "tool") {
      const id = m.tool_call_id ?? null;
      if (id === null) return problem("UNMATCHED_TOOL_RESULT", `messages[${i}] is a tool result without a tool_call_id`);
      if (!calls.has(id)) return problem("UNMATCHED_TOOL_RESULT", `messages[${i}] answers tool call '${id}', which no earlier assistant message made`);
      if (answered.has(id)) return problem("UNMATCHED_TOOL_RESULT", `messages[${i}] answers tool call '${id}' a second time`);
      answered.add(id);
    } else if (m.tool_call_id != null) {
      return problem("INVALID_PARAMETER", `messages[${i}]: only tool messages carry a tool_call_id`);
    }
    for (const [j, p] of (m.parts ?? []).entries()) {
      const at = `messages[${i}].parts[${j}]`;
      if (p.type === "text") {
        if (p.text === null) return problem("UNSUPPORTED_CONTENT", `${at} is a text part without text`);
        continue;
      }
      if (p.type !== "image") return problem("UNSUPPORTED_CONTENT", `${at}: content part type '${p.type}' is not one of text, image`);
      if (m.role !== "user") return problem("UNSUPPORTED_CONTENT", `${at}: images are only accepted in user messages`);
      const url = p.image_url ?? "";
      if (url.startsWith("data:")) {
        if (!DATA_URL.test(url)) return problem("INVALID_IMAGE", `${at}: a data URL must be data:image/(png|jpeg|gif|webp);base64,<data>`);
      } else {
        let scheme: string;
        try {
          scheme = new URL(url).protocol;
        } catch {
          return problem("INVALID_IMAGE", `${at}: image_url ${JSON.stringify(url.slice(0, 80))} is not a URL`);
        }
        if (scheme !== "https:") return problem("INVALID_IMAGE", `${at}: image URL scheme '${scheme.replace(/:$/, "")}' is not allowed (https or data only)`);
      }
      if (p.detail !== null && !["low", "high", "auto"].includes(p.detail)) return problem("INVALID_IMAGE", `${at}: detail '${p.detail}' is not one of low, high, auto`);
      if (price.vision === false) return problem("UNSUPPORTED_CONTENT", `${price.id} does not take image input (${at})`);
    }
  }

  const stop = request.stop ?? [];
  if (stop.length > MAX_STOP_SEQUENCES) return problem("INVALID_PARAMETER", `${stop.length} stop sequences: at most ${MAX_STOP_SEQUENCES} are allowed`);
  if (stop.some((s) => s === "" || s.trim() === "")) return problem("INVALID_PARAMETER", "stop sequences must contain a non-whitespace character");
  const range = (name: string, v: number | null | undefined, min: number, max: number) =>
    v != null && (Number.isNaN(v) || v < min || v > max) ? problem("INVALID_PARAMETER", `${name} ${v} is outside ${min}..${max}`) : null;
  const bad = range("top_p", request.top_p, 0, 1) ?? range("presence_penalty", request.presence_penalty, -2, 2) ?? range("frequency_penalty", request.frequency_penalty, -2, 2);
  if (bad) return bad;
  if (request.seed != null && !Number.isSafeInteger(request.seed)) return problem("INVALID_PARAMETER", `seed ${request.seed} is not an integer`);
  if (request.reasoning_effort != null && !EFFORTS.has(request.reasoning_effort)) return problem("INVALID_PARAMETER", `reasoning_effort '${request.reasoning_effort}' is not one of minimal, low, medium, high`);
  return null;
}
