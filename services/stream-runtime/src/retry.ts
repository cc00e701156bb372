import { PoisonMessageError, TransientError } from "./errors.ts";

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly attempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Up to this share of each delay is random, so replicas do not retry in lockstep. */
  readonly jitter: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 5, initialDelayMs: 200, maxDelayMs: 8_000, jitter: 0.25 };

/** Exponential backoff with jitter: initial × 2^(attempt-1), capped, minus up to `jitter` of it. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}

/** Poison input is final; everything else may succeed on another try. */
export function isRetryable(err: unknown): boolean {
  return !(err instanceof PoisonMessageError);
}

export interface RetryHooks {
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Run `fn` until it succeeds, a non-retryable error is thrown, or the attempts run out (then the last error is thrown). */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy, hooks: RetryHooks = {}): Promise<T> {
  const doSleep = hooks.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isRetryable(err) || attempt >= policy.attempts || hooks.signal?.aborted) throw err;
      const hinted = err instanceof TransientError ? err.retryAfterMs : undefined;
      const delay = hinted !== undefined && hinted >= 0 && hinted <= 60_000 ? hinted : backoffDelay(policy, attempt);
      hooks.onRetry?.(err, attempt, delay);
      await doSleep(delay, hooks.signal);
    }
  }
}
