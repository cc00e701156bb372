import type { LlmResponse } from "@costwise/schemas";
import type { GatewayCall } from "./call.ts";
import { GatewayError } from "./errors.ts";

/** One provider API the gateway speaks: its request fields, response and stream shapes, error shape. */
export interface Dialect {
  readonly api: "openai" | "anthropic";
  /** The call, or a GatewayError naming the field; never produces anything. */
  parse(body: unknown): GatewayCall;
  /** The provider's non-streaming response body for an OK response. */
  completion(resp: LlmResponse, call: Pick<GatewayCall, "model" | "maxTokens">): object;
  /** The provider's server-sent events for an OK response, the whole answer cut into chunks. */
  stream(resp: LlmResponse, call: Pick<GatewayCall, "model" | "maxTokens" | "streamUsage">): string;
  /** The provider's error body. */
  error(err: GatewayError): object;
}

/**
 * The answer in pieces of about `size` characters, cut after whitespace so words stay whole: the
 * gateway waits for the complete answer, then sends it as the provider's chunk events.
 */
export function streamPieces(text: string, size = 24): string[] {
  const pieces: string[] = [];
  let current = "";
  for (const part of text.split(/(?<=\s)/)) {
    if (current.length > 0 && current.length + part.length > size) {
      pieces.push(current);
      current = "";
    }
    current += part;
  }
  if (current.length > 0) pieces.push(current);
  return pieces;
}

/** The answer hit max_tokens: the provider would report a truncated finish. */
export function truncated(resp: LlmResponse, maxTokens: number | null): boolean {
  return maxTokens !== null && resp.output_tokens >= maxTokens;
}

// Small typed field readers shared by the dialects: each error names the field like the providers do.
export type Body = Record<string, unknown>;

export function asBody(body: unknown): Body {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new GatewayError("invalid_request", "the request body must be a JSON object");
  }
  return body as Body;
}

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v === "object" ? "an object" : `a ${typeof v}`;
}

export function invalidType(field: string, expected: string, got: unknown): GatewayError {
  return new GatewayError("invalid_request", `Invalid type for '${field}': expected ${expected}, but got ${typeName(got)} instead.`, { param: field, code: "invalid_type" });
}

export function optionalNumber(body: Body, field: string, min: number, max: number, opts: { integer?: boolean } = {}): number | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v))) throw invalidType(field, opts.integer ? "an integer" : "a number", v);
  if (v < min || v > max) {
    throw new GatewayError("invalid_request", `Invalid '${field}': ${v} is outside ${min}..${max}.`, { param: field, code: "invalid_value" });
  }
  return v;
}

export function optionalBoolean(body: Body, field: string): boolean {
  const v = body[field];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw invalidType(field, "a boolean", v);
  return v;
}

export function requiredString(body: Body, field: string, path = field): string {
  const v = body[field];
  if (v === undefined || v === null) throw new GatewayError("invalid_request", `Missing required parameter: '${path}'.`, { param: path, code: "missing_required_parameter" });
  if (typeof v !== "string" || v === "") throw invalidType(path, "a non-empty string", v);
  return v;
}

export function optionalString(body: Body, field: string, path = field): string | null {
  const v = body[field];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw invalidType(path, "a string", v);
  return v;
}

/** A JSON Schema given inline: carried as JSON text (the pipeline checks it is a valid schema). */
export function schemaText(v: unknown, path: string): string {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw invalidType(path, "a JSON Schema object", v);
  return JSON.stringify(v);
}

/** Stop sequences: a string or an array of strings. */
export function stopSequences(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === "string") return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw invalidType(path, "a string or an array of strings", v);
  return v as string[];
}

/** A string-to-string map (metadata). */
export function stringMap(v: unknown, path: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw invalidType(path, "an object", v);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string") throw invalidType(`${path}.${k}`, "a string", x);
    out[k] = x;
  }
  return out;
}

/** Text content: a string, or an array of text blocks/parts (other block types are not in the contract). */
export function textContent(v: unknown, path: string, blockKinds: string): string {
  if (typeof v === "string") return v;
  if (!Array.isArray(v)) throw invalidType(path, `a string or an array of ${blockKinds}`, v);
  return v
    .map((part, i) => {
      const p = part as Body | null;
      if (typeof p !== "object" || p === null) throw invalidType(`${path}[${i}]`, "an object", p);
      if (p.type !== "text") {
        throw new GatewayError("invalid_request", `unsupported parameter: '${path}[${i}].type' ${JSON.stringify(p.type)} (only text content is in costwise's request contract)`, {
          param: `${path}[${i}].type`, code: "unsupported_parameter",
        });
      }
      if (typeof p.text !== "string") throw invalidType(`${path}[${i}].text`, "a string", p.text);
      return p.text;
    })
    .join("\n");
}
