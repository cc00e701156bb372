import { describe, expect, it, vi } from "vitest";
import { InvalidRequestError, ProviderUnavailableError, RateLimitError } from "./errors.ts";
import { attemptWithRetries, backoffMs, retryDelayMs, type RetrySettings } from "./retry.ts";

const settings: RetrySettings = { maxAttempts: 4, initialMs: 500, maxMs: 8_000 };
const base = { provider: "openai" as const, model: "gpt-4o" };

describe("backoffMs", () => {
  it("doubles from 0.5 s and caps at 8 s", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((a) => backoffMs(settings, a, () => 0));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it("takes off at most 25% as jitter", () => {
    expect(backoffMs(settings, 3, () => 1)).toBe(1500);
    expect(backoffMs(settings, 3, () => 0.5)).toBe(1750);
    for (let i = 0; i < 200; i++) {
      const d = backoffMs(settings, 2, Math.random);
      expect(d).toBeGreaterThanOrEqual(750);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});

describe("retryDelayMs", () => {
  it("uses the provider's hint when it is within 0..60 s", () => {
    expect(retryDelayMs(new RateLimitError("x", { ...base, retryAfterMs: 0 }), settings, 3, () => 0)).toBe(0);
    expect(retryDelayMs(new RateLimitError("x", { ...base, retryAfterMs: 12_000 }), settings, 1, () => 0)).toBe(12_000);
  });

  it("falls back to backoff without a hint", () => {
    expect(retryDelayMs(new ProviderUnavailableError("x", base), settings, 2, () => 0)).toBe(1000);
  });
});

describe("attemptWithRetries", () => {
  const noSleep = vi.fn(async () => {});

  it("retries transient provider errors and reports the attempts used", async () => {
    let calls = 0;
    const delays: number[] = [];
    const out = await attemptWithRetries(
      async () => {
        calls++;
        if (calls < 3) throw new ProviderUnavailableError("503", base);
        return "ok";
      },
      settings,
      { sleep: noSleep, random: () => 0, onRetry: (_e, _a, d) => delays.push(d) },
    );
    expect(out).toEqual({ ok: true, value: "ok", attempts: 3 });
    expect(delays).toEqual([500, 1000]);
  });

  it("stops after maxAttempts and hands back the last error", async () => {
    let calls = 0;
    const out = await attemptWithRetries(
      async () => {
        calls++;
        throw new ProviderUnavailableError(`fail ${calls}`, base);
      },
      settings,
      { sleep: noSleep },
    );
    expect(calls).toBe(4);
    expect(out.ok).toBe(false);
    expect(out.attempts).toBe(4);
    expect(!out.ok && (out.error as Error).message).toBe("fail 4");
  });

  it("does not retry non-retryable errors", async () => {
    let calls = 0;
    const err = new InvalidRequestError("400", { ...base, status: 400 });
    const out = await attemptWithRetries(
      async () => {
        calls++;
        throw err;
      },
      settings,
      { sleep: noSleep },
    );
    expect(calls).toBe(1);
    expect(out).toEqual({ ok: false, error: err, attempts: 1 });
  });

  it("stops waiting when the signal aborts during backoff", async () => {
    const ac = new AbortController();
    const reason = new Error("shutting down");
    let calls = 0;
    const p = attemptWithRetries(
      async () => {
        calls++;
        throw new ProviderUnavailableError("503", base);
      },
      { maxAttempts: 4, initialMs: 60_000, maxMs: 60_000 },
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort(reason), 20);
    await expect(p).rejects.toBe(reason);
    expect(calls).toBe(1);
  });
});
