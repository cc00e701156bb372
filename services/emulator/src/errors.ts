/** Which wire format an endpoint speaks; decides the shape of error bodies. */
export type Provider = "openai" | "anthropic";

export interface OpenAiErrorObject {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

export interface OpenAiErrorBody {
  error: OpenAiErrorObject;
}

export interface AnthropicErrorObject {
  type: string;
  message: string;
}

export interface AnthropicErrorBody {
  type: "error";
  error: AnthropicErrorObject;
}

/**
 * An error that is answered to the client as-is: HTTP status, provider-shaped JSON body and
 * optional extra headers (e.g. `retry-after`).
 */
export class ProviderHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: OpenAiErrorBody | AnthropicErrorBody,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super("error" in body && "message" in body.error ? body.error.message : `HTTP ${statusCode}`);
    this.name = new.target.name;
  }
}

export interface OpenAiErrorFields {
  type?: string;
  param?: string | null;
  code?: string | null;
}

export function openAiErrorBody(message: string, fields: OpenAiErrorFields = {}): OpenAiErrorBody {
  return {
    error: {
      message,
      type: fields.type ?? "invalid_request_error",
      param: fields.param ?? null,
      code: fields.code ?? null,
    },
  };
}

export function openAiError(status: number, message: string, fields: OpenAiErrorFields = {}): ProviderHttpError {
  return new ProviderHttpError(status, openAiErrorBody(message, fields));
}

/** Anthropic's documented mapping from HTTP status to error type. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 504:
      return "timeout_error";
    case 529:
    case 503:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

export function anthropicErrorBody(status: number, message: string, type = anthropicErrorType(status)): AnthropicErrorBody {
  return { type: "error", error: { type, message } };
}

export function anthropicError(status: number, message: string, type?: string): ProviderHttpError {
  return new ProviderHttpError(status, anthropicErrorBody(status, message, type));
}

/** Builds the provider-appropriate error for a status and message. */
export function providerError(provider: Provider, status: number, message: string, fields: OpenAiErrorFields = {}): ProviderHttpError {
  if (provider === "anthropic") return anthropicError(status, message);
  const type = fields.type ?? (status >= 500 ? "server_error" : "invalid_request_error");
  return openAiError(status, message, { ...fields, type });
}

export function providerOfPath(url: string): Provider {
  return url.startsWith("/v1/messages") ? "anthropic" : "openai";
}

/** Raised when `url` is read before `start()` resolved. */
export class EmulatorNotStartedError extends Error {
  constructor() {
    super("the emulator is not listening yet: await start() first");
    this.name = new.target.name;
  }
}
