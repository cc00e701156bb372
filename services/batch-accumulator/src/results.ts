/**
 * One line of a finished provider batch, reduced to what costwise decides on. Pure parsers of the
 * OpenAI output/error file lines and the Anthropic results lines; results come in any order and
 * are matched to requests by custom_id alone.
 */
export type LineResult = LineSuccess | LineFailure;

export interface LineSuccess {
  readonly customId: string;
  readonly ok: true;
  /** The provider's response body (chat completion or message), parsed by the provider adapter. */
  readonly body: unknown;
}

export type FailureKind = "error" | "expired" | "cancelled" | "failed" | "missing";

export interface LineFailure {
  readonly customId: string;
  readonly ok: false;
  /** The same request may succeed if sent again (server errors, expiry, cancellation). */
  readonly retryable: boolean;
  readonly kind: FailureKind;
  readonly code: string;
  readonly message: string;
}

export class ResultLineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

const FINAL_ANTHROPIC_ERRORS = new Set(["invalid_request_error", "not_found_error", "authentication_error", "permission_error"]);
/** Provider error codes that say the model itself is not served. */
export const isModelNotFound = (code: string) => code === "model_not_found" || code === "not_found_error";
const RETRYABLE_STATUS = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

function objectOf(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ResultLineError(`result line is not JSON: ${text.slice(0, 80)}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ResultLineError("result line is not a JSON object");
  return v as Record<string, unknown>;
}

function customIdOfLine(o: Record<string, unknown>): string {
  const id = o["custom_id"];
  if (typeof id !== "string" || id === "") throw new ResultLineError("result line has no custom_id");
  return id;
}

const str = (v: unknown, fallback: string) => (typeof v === "string" && v !== "" ? v : fallback);

/** A line of an OpenAI batch output or error file. */
export function parseOpenAiLine(text: string): LineResult {
  const o = objectOf(text);
  const customId = customIdOfLine(o);
  const response = o["response"] as { status_code?: number; body?: unknown } | null | undefined;
  if (response && typeof response === "object") {
    const status = typeof response.status_code === "number" ? response.status_code : 0;
    if (status >= 200 && status < 300) return { customId, ok: true, body: response.body };
    const err = ((response.body as { error?: Record<string, unknown> } | undefined)?.error ?? {}) as Record<string, unknown>;
    return { customId, ok: false, retryable: RETRYABLE_STATUS(status), kind: "error", code: str(err["code"], str(err["type"], `http_${status}`)), message: str(err["message"], `HTTP ${status}`) };
  }
  const err = (o["error"] ?? {}) as Record<string, unknown>;
  const code = str(err["code"], "batch_error");
  const kind: FailureKind = code === "batch_expired" ? "expired" : code === "batch_cancelled" ? "cancelled" : "error";
  return { customId, ok: false, retryable: true, kind, code, message: str(err["message"], code) };
}

/** A line of an Anthropic message batch's results. */
export function parseAnthropicLine(line: unknown): LineResult {
  const o = typeof line === "string" ? objectOf(line) : (line as Record<string, unknown>);
  if (typeof o !== "object" || o === null) throw new ResultLineError("result line is not a JSON object");
  const customId = customIdOfLine(o);
  const result = (o["result"] ?? {}) as Record<string, unknown>;
  switch (result["type"]) {
    case "succeeded":
      return { customId, ok: true, body: result["message"] };
    case "errored": {
      const outer = (result["error"] ?? {}) as Record<string, unknown>;
      const inner = (outer["error"] ?? outer) as Record<string, unknown>;
      const type = str(inner["type"], "api_error");
      // These are the request itself (a bad parameter, a model the provider does not serve, the key);
      // everything else (api_error, overloaded_error, ...) may pass.
      return { customId, ok: false, retryable: !FINAL_ANTHROPIC_ERRORS.has(type), kind: "error", code: type, message: str(inner["message"], type) };
    }
    case "canceled":
      return { customId, ok: false, retryable: true, kind: "cancelled", code: "batch_cancelled", message: "the batch was cancelled before this request ran" };
    case "expired":
      return { customId, ok: false, retryable: true, kind: "expired", code: "batch_expired", message: "the batch expired before this request ran" };
    default:
      throw new ResultLineError(`unknown result type ${String(result["type"])}`);
  }
}
