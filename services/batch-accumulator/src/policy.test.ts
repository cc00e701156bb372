import { describe, expect, it } from "vitest";
import { afterFailure, batchable, mustAbandon, submitBy } from "./policy.ts";

const p = { turnaroundMs: 24 * 3_600_000, realtimeBudgetMs: 60_000, maxBatchAttempts: 2 };
const H = 3_600_000;

describe("deadline policy", () => {
  it("lets a request wait for a batch only when the provider's turnaround fits before its deadline", () => {
    expect(batchable(null, 0, p)).toBe(true);
    expect(batchable(25 * H, 0, p)).toBe(true);
    expect(batchable(23 * H, 0, p)).toBe(false);
    expect(submitBy(25 * H, p)).toBe(H);
    expect(submitBy(null, p)).toBeNull();
  });

  it("retries a failed line in another batch while time and attempts allow, then in real time, then gives up", () => {
    const f = { retryable: true, allowBatch: true, attempt: 1, now: 0 };
    expect(afterFailure({ ...f, deadline: null }, p)).toBe("batch");
    expect(afterFailure({ ...f, deadline: 30 * H }, p)).toBe("batch");
    expect(afterFailure({ ...f, deadline: null, attempt: 2 }, p)).toBe("realtime");
    expect(afterFailure({ ...f, deadline: 2 * H }, p)).toBe("realtime");
    expect(afterFailure({ ...f, deadline: 30_000 }, p)).toBe("error");
    expect(afterFailure({ ...f, deadline: 30 * H, allowBatch: false }, p)).toBe("realtime");
  });

  it("never retries what the provider rejected as invalid", () => {
    expect(afterFailure({ retryable: false, allowBatch: true, deadline: null, attempt: 1, now: 0 }, p)).toBe("error");
  });

  it("abandons a running batch once only the real-time budget is left before its earliest deadline", () => {
    expect(mustAbandon(null, 10 * H, p)).toBe(false);
    expect(mustAbandon(H, H - 60_001, p)).toBe(false);
    expect(mustAbandon(H, H - 60_000, p)).toBe(true);
  });
});
