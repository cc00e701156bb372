import Anthropic from "@anthropic-ai/sdk";
import type { Provider } from "@costwise/pricing";
import { CostwiseError, PoisonMessageError, TransientError } from "@costwise/stream-runtime";
import OpenAI from "openai";

export { UnknownModelError } from "@costwise/pricing";

/** Hints outside this window are ignored in favour of our own backoff (the SDKs use the same rule). */
export const MAX_RETRY_AFTER_MS = 60_000;

interface ProviderErrorOptions extends ErrorOptions {
  provider: Provider;
  model: string;
  status?: number | undefined;
  requestId?: string | null | undefined;
  retryAfterMs?: number | undefined;
}

/** A provider call that failed in a way another attempt may fix. */
export class ProviderError extends TransientError {
  readonly provider: Provider;
  readonly model: string;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  constructor(message: string, options: ProviderErrorOptions) {
    super(message, options);
    this.provider = options.provider;
    this.model = options.model;
    this.status = options.status;
    this.requestId = options.requestId ?? undefined;
  }
}

export class RateLimitError extends ProviderError {}
export class ProviderUnavailableError extends ProviderError {}
export class ProviderTimeoutError extends ProviderError {}
export class MalformedResponseError extends ProviderError {}

interface PoisonOptions extends ErrorOptions {
  provider: Provider;
  model: string;
  status?: number | undefined;
  requestId?: string | null | undefined;
}

/** The provider rejected the request itself (400/404/422...): sending it again cannot help. */
export class InvalidRequestError extends PoisonMessageError {
  readonly provider: Provider;
  readonly model: string;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  constructor(message: string, options: PoisonOptions) {
    super(message, options);
    this.provider = options.provider;
    this.model = options.model;
    this.status = options.status;
    this.requestId = options.requestId ?? undefined;
  }
}

/** 404 on a chat call: the provider does not serve this model (a name the catalog does not know either, under UNPRICED_MODELS=serve). */
export class ModelNotFoundError extends InvalidRequestError {}

/** 401/403. Poison rather than transient: every message would fail the same way until someone fixes the key. */
export class AuthenticationError extends PoisonMessageError {
  readonly provider: Provider;
  readonly model: string;
  readonly status: number | undefined;
  constructor(options: { provider: Provider; model: string; status: number | undefined; usingEmulator: boolean }) {
    const envVar = options.provider === "openai" ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY";
    const hint = options.usingEmulator
      ? `${envVar} is not set, so the call went to the provider emulator, which refused it; check EMULATOR_URL / ${options.provider.toUpperCase()}_BASE_URL`
      : `check that ${envVar} holds a valid key with access to model "${options.model}"`;
    super(`${options.provider} rejected the credentials (HTTP ${options.status ?? "?"}): ${hint}`);
    this.provider = options.provider;
    this.model = options.model;
    this.status = options.status;
  }
}

/** Raised by calls made after `close()`. */
export class ProvidersClosedError extends CostwiseError {
  constructor() {
    super("providers are closed");
  }
}

/**
 * Reads `retry-after-ms` (non-standard, sent by OpenAI) or `retry-after` (seconds or an HTTP date).
 * Returns undefined when absent, unparsable or outside 0..60 s, so the caller falls back to backoff.
 */
export function parseRetryAfter(headers: Headers | undefined | null, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  let ms: number | undefined;
  const msHeader = headers.get("retry-after-ms");
  if (msHeader !== null && msHeader.trim() !== "") {
    const v = Number(msHeader.trim());
    if (Number.isFinite(v)) ms = v;
  }
  if (ms === undefined) {
    const header = headers.get("retry-after")?.trim();
    if (header) {
      const seconds = Number(header);
      if (Number.isFinite(seconds)) ms = seconds * 1000;
      else {
        const date = Date.parse(header);
        if (Number.isFinite(date)) ms = date - now;
      }
    }
  }
  if (ms === undefined || ms < 0 || ms > MAX_RETRY_AFTER_MS) return undefined;
  return Math.ceil(ms);
}

export interface MapContext {
  provider: Provider;
  model: string;
  /** True when no API key is configured and calls go to the emulator (changes the auth hint). */
  usingEmulator: boolean;
  /** Values that must never appear in a message (the configured API keys). */
  secrets: readonly string[];
}

/** Replaces every configured secret in `text`; provider messages can echo (parts of) the key. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0 && out.includes(s)) out = out.split(s).join("[REDACTED]");
  return out;
}

type SdkErrors = {
  APIError: typeof OpenAI.APIError | typeof Anthropic.APIError;
  APIUserAbortError: typeof OpenAI.APIUserAbortError | typeof Anthropic.APIUserAbortError;
  APIConnectionTimeoutError: typeof OpenAI.APIConnectionTimeoutError | typeof Anthropic.APIConnectionTimeoutError;
  APIConnectionError: typeof OpenAI.APIConnectionError | typeof Anthropic.APIConnectionError;
  RateLimitError: typeof OpenAI.RateLimitError | typeof Anthropic.RateLimitError;
  InternalServerError: typeof OpenAI.InternalServerError | typeof Anthropic.InternalServerError;
  AuthenticationError: typeof OpenAI.AuthenticationError | typeof Anthropic.AuthenticationError;
  PermissionDeniedError: typeof OpenAI.PermissionDeniedError | typeof Anthropic.PermissionDeniedError;
  ConflictError: typeof OpenAI.ConflictError | typeof Anthropic.ConflictError;
  NotFoundError: typeof OpenAI.NotFoundError | typeof Anthropic.NotFoundError;
};

const sdkErrors: Record<Provider, SdkErrors> = { openai: OpenAI, anthropic: Anthropic };

/**
 * Turns whatever an SDK call threw into this package's vocabulary, by class. Aborts by the caller
 * are returned unchanged (they are not provider failures). Anything unrecognised is returned as is.
 */
export function mapSdkError(err: unknown, ctx: MapContext): unknown {
  const sdk = sdkErrors[ctx.provider];
  const base = { provider: ctx.provider, model: ctx.model };
  if (err instanceof sdk.APIUserAbortError) return err;
  // The SDK parses JSON bodies with response.json(); a truncated or garbage body surfaces as SyntaxError.
  if (err instanceof SyntaxError) {
    return new MalformedResponseError(`${ctx.provider} returned an unparsable body: ${redact(err.message, ctx.secrets)}`, base);
  }
  if (err instanceof sdk.APIConnectionTimeoutError) {
    return new ProviderTimeoutError(`${ctx.provider} request timed out`, base);
  }
  if (err instanceof sdk.APIConnectionError) {
    return new ProviderUnavailableError(`${ctx.provider} connection failed: ${redact(err.message, ctx.secrets)}`, base);
  }
  if (!(err instanceof sdk.APIError)) return err;

  const status = err.status;
  const detail = { ...base, status, requestId: err.requestID };
  const message = `${ctx.provider} ${ctx.model}: ${redact(err.message, ctx.secrets)}`;
  if (err instanceof sdk.AuthenticationError || err instanceof sdk.PermissionDeniedError) {
    // No provider text here: OpenAI's 401 message quotes a masked form of the key.
    return new AuthenticationError({ ...base, status, usingEmulator: ctx.usingEmulator });
  }
  const retryAfterMs = parseRetryAfter(err.headers);
  if (err instanceof sdk.RateLimitError) return new RateLimitError(message, { ...detail, retryAfterMs });
  if (err instanceof sdk.InternalServerError) return new ProviderUnavailableError(message, { ...detail, retryAfterMs });
  // 408 has no dedicated class; 409 (lock/conflict) is retried by both SDKs' own policies too.
  if (status === 408) return new ProviderTimeoutError(message, { ...detail, retryAfterMs });
  if (err instanceof sdk.ConflictError) return new ProviderUnavailableError(message, { ...detail, retryAfterMs });
  if (status === undefined) return new ProviderUnavailableError(message, detail);
  // A chat endpoint's path is fixed, so its 404 is about the model (OpenAI model_not_found, Anthropic not_found_error).
  if (err instanceof sdk.NotFoundError) return new ModelNotFoundError(message, detail);
  // BadRequest (400), UnprocessableEntity (422) and any other 4xx.
  return new InvalidRequestError(message, detail);
}
