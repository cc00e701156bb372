import { CostwiseError, TransientError } from "./errors.ts";
import { withRetry, type RetryPolicy } from "./retry.ts";

/**
 * A call outside the process did not answer in time. Transient: the next attempt may be answered
 * (a registry that dropped one request, a broker failing over).
 */
export class DeadlineExceededError extends TransientError {
  readonly what: string;
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number, options?: ErrorOptions) {
    super(`${what}: no answer within ${timeoutMs} ms`, options);
    this.what = what;
    this.timeoutMs = timeoutMs;
  }
}

/** The service could not finish starting in time; `step` is where it stood. */
export class StartupTimeoutError extends CostwiseError {
  readonly step: string;
  readonly timeoutMs: number;
  constructor(step: string, timeoutMs: number, options?: ErrorOptions) {
    super(`start-up did not finish within ${timeoutMs} ms (STARTUP_TIMEOUT_MS): stuck at step "${step}"`, options);
    this.step = step;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * Run `fn` under a deadline. `fn` receives a signal aborted at the deadline, for clients that can
 * cancel; for those that cannot, the caller stops waiting and the late answer is dropped.
 */
export async function withDeadline<T>(what: string, timeoutMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new DeadlineExceededError(what, timeoutMs);
      ac.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    return await Promise.race([fn(ac.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A deadline per attempt and a budget of attempts: how every outside call at start-up is made. */
export interface CallBudget {
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
}

/** `fn` with a deadline on each attempt, retried with backoff within the budget; the last error says how many attempts were made. */
export async function boundedCall<T>(what: string, budget: CallBudget, fn: (signal: AbortSignal) => Promise<T>, hooks: { onRetry?: (err: unknown, attempt: number) => void; signal?: AbortSignal } = {}): Promise<T> {
  try {
    return await withRetry(() => withDeadline(what, budget.timeoutMs, fn), budget.retry, {
      ...(hooks.signal ? { signal: hooks.signal } : {}),
      ...(hooks.onRetry ? { onRetry: (err: unknown, attempt: number) => hooks.onRetry!(err, attempt) } : {}),
    });
  } catch (err) {
    if (err instanceof DeadlineExceededError && budget.retry.attempts > 1) {
      throw new DeadlineExceededError(`${what} (${budget.retry.attempts} attempts)`, budget.timeoutMs, { cause: err });
    }
    throw err;
  }
}
