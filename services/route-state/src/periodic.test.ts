import { afterEach, describe, expect, it, vi } from "vitest";
import { PeriodicRefresh } from "./periodic.ts";

class Counter extends PeriodicRefresh {
  reads = 0;
  constructor(refreshMs: number) {
    super(refreshMs);
  }
  async refresh(): Promise<void> {
    this.reads++;
  }
}

describe("PeriodicRefresh", () => {
  afterEach(() => vi.useRealTimers());

  it("reads once before serving, then every refreshMs until closed", async () => {
    vi.useFakeTimers();
    const c = new Counter(1_000);
    await c.start();
    expect(c.reads).toBe(1);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(c.reads).toBe(4);
    c.close();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(c.reads).toBe(4);
  });
});
