import { describe, expect, it } from "vitest";
import { PoisonMessageError, TransientError } from "./errors.ts";
import { backoffDelay, withRetry } from "./retry.ts";

const policy = { attempts: 4, initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0.25 };

describe("retry", () => {
  it("backs off exponentially with bounded jitter and a cap", () => {
    expect(backoffDelay(policy, 1, () => 0)).toBe(100);
    expect(backoffDelay(policy, 3, () => 0)).toBe(400);
    expect(backoffDelay(policy, 3, () => 1)).toBe(300);
    expect(backoffDelay(policy, 10, () => 0)).toBe(1_000);
  });

  it("honours a dependency's retry-after hint, gives up after the attempts, never retries poison", async () => {
    const slept: number[] = [];
    const sleep = async (ms: number) => void slept.push(ms);
    let n = 0;
    await expect(withRetry(async () => { n++; throw new TransientError("429", { retryAfterMs: 1_500 }); }, policy, { sleep })).rejects.toThrow("429");
    expect(n).toBe(4);
    expect(slept).toEqual([1_500, 1_500, 1_500]);
    let p = 0;
    await expect(withRetry(async () => { p++; throw new PoisonMessageError("bad"); }, policy, { sleep })).rejects.toThrow("bad");
    expect(p).toBe(1);
  });
});
