import { CostwiseError } from "@costwise/stream-runtime";

/**
 * What went wrong with one HTTP call, independent of the API dialect. Each dialect turns a kind into
 * its provider's status code and `error.type` (see openai.ts and anthropic.ts), so the official SDKs
 * raise the same exception class they raise against the provider itself.
 */
export type GatewayErrorKind =
  | "invalid_request" // 400
  | "authentication" // 401
  | "not_found" // 404 (unknown model, unknown deferred request)
  | "too_large" // 413
  | "rate_limit" // 429
  | "upstream" // 502: the pipeline answered ERROR for a reason that is not the caller's
  | "unavailable" // 503: Kafka or Redis unreachable, or the replica is shutting down; retryable
  | "timeout" // 504: no answer in time; retryable (with the same Idempotency-Key)
  | "internal"; // 500: a fault of the gateway itself

export const STATUS: Record<GatewayErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  not_found: 404,
  too_large: 413,
  rate_limit: 429,
  upstream: 502,
  unavailable: 503,
  timeout: 504,
  internal: 500,
};

export class GatewayError extends CostwiseError {
  constructor(
    readonly kind: GatewayErrorKind,
    message: string,
    readonly extra: { param?: string | null; code?: string | null; retryAfterS?: number } = {},
  ) {
    super(message);
  }

  get status(): number {
    return STATUS[this.kind];
  }
}

/** A request field costwise's request contract cannot carry (legacy functions, n > 1, logprobs, audio). */
export function unsupportedParameter(param: string, why: string): GatewayError {
  return new GatewayError("invalid_request", `unsupported parameter: '${param}' (${why})`, { param, code: "unsupported_parameter" });
}

/** How a pipeline ERROR response's code reaches the caller. */
export function pipelineError(errorCode: string | null, reason: string | null): GatewayError {
  const message = reason ?? `the pipeline answered ${errorCode ?? "an error"}`;
  switch (errorCode) {
    case "UNKNOWN_MODEL":
      return new GatewayError("not_found", message, { param: "model", code: "model_not_found" });
    case "EMPTY_MESSAGES":
    case "INVALID_ROLE":
    case "INVALID_PARAMETER":
    case "INPUT_TOO_LARGE":
    case "NO_MODEL":
    case "INVALID_TOOL":
    case "INVALID_SCHEMA":
    case "INVALID_IMAGE":
    case "UNMATCHED_TOOL_RESULT":
    case "UNSUPPORTED_CONTENT":
      return new GatewayError("invalid_request", message, { code: errorCode.toLowerCase() });
    case "DEADLINE_EXCEEDED":
      return new GatewayError("timeout", message, { code: "deadline_exceeded" });
    default:
      return new GatewayError("upstream", message, { code: errorCode?.toLowerCase() ?? null });
  }
}
