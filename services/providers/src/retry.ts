import { backoffDelay, sleep as abortableSleep, type RetryPolicy } from "@costwise/stream-runtime";
import { MAX_RETRY_AFTER_MS, ProviderError } from "./errors.ts";

export interface RetrySettings {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  initialMs: number;
  maxMs: number;
}

/** Share of each backoff delay that is random, so replicas hit by the same outage spread out. */
export const JITTER = 0.25;

/** Exponential backoff (initial × 2^(attempt-1), capped) minus up to 25% jitter, as the OpenAI SDK does. */
export function backoffMs(settings: RetrySettings, attempt: number, random: () => number = Math.random): number {
  const policy: RetryPolicy = {
    attempts: settings.maxAttempts,
    initialDelayMs: settings.initialMs,
    maxDelayMs: settings.maxMs,
    jitter: JITTER,
  };
  return backoffDelay(policy, attempt, random);
}

/** The provider's own hint wins when it is within 0..60 s; otherwise our backoff. */
export function retryDelayMs(err: ProviderError, settings: RetrySettings, attempt: number, random: () => number = Math.random): number {
  const hinted = err.retryAfterMs;
  if (hinted !== undefined && hinted >= 0 && hinted <= MAX_RETRY_AFTER_MS) return hinted;
  return backoffMs(settings, attempt, random);
}

export type Attempted<T> =
  | { ok: true; value: T; attempts: number }
  | { ok: false; error: unknown; attempts: number };

export interface RetryHooks {
  signal?: AbortSignal | undefined;
  onRetry?: (err: ProviderError, attempt: number, delayMs: number) => void;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Runs `fn` until it succeeds, throws something other than a ProviderError, or uses up the
 * attempts. Never throws the call's error: the outcome says how it ended and after how many
 * attempts, so the caller can decide on a fallback. An abort of `signal` while waiting rejects.
 */
export async function attemptWithRetries<T>(
  fn: (attempt: number) => Promise<T>,
  settings: RetrySettings,
  hooks: RetryHooks = {},
): Promise<Attempted<T>> {
  const sleep = hooks.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return { ok: true, value: await fn(attempt), attempts: attempt };
    } catch (error) {
      if (!(error instanceof ProviderError) || attempt >= settings.maxAttempts || hooks.signal?.aborted) {
        return { ok: false, error, attempts: attempt };
      }
      const delay = retryDelayMs(error, settings, attempt, hooks.random);
      hooks.onRetry?.(error, attempt, delay);
      await sleep(delay, hooks.signal);
    }
  }
}
