import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TransientError } from "@costwise/stream-runtime";
import { coalescingWriter } from "./coalescing.ts";
import { insertIsolating, RowRejectedError, type RowWriter } from "./writer.ts";

type Row = { id: number };
function recorder(fail?: (ids: number[]) => Error | null): RowWriter & { inserts: { table: string; ids: number[] }[] } {
  const inserts: { table: string; ids: number[] }[] = [];
  return {
    inserts,
    async insert(table, rows) {
      const ids = (rows as Row[]).map((r) => r.id);
      const err = fail?.(ids);
      if (err) throw err;
      inserts.push({ table, ids });
    },
  };
}

describe("coalescing writer", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("writes the inserts of one window as one insert per table, and resolves each caller after it", async () => {
    const inner = recorder();
    const w = coalescingWriter(inner, { lingerMs: 100, maxRows: 1000 });
    let done = 0;
    const calls = [w.insert("a", [{ id: 1 }]), w.insert("a", [{ id: 2 }, { id: 3 }]), w.insert("b", [{ id: 4 }])].map((p) => p.then(() => done++));
    await vi.advanceTimersByTimeAsync(99);
    expect(inner.inserts).toEqual([]);
    expect(done).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(calls);
    expect(inner.inserts).toEqual([{ table: "a", ids: [1, 2, 3] }, { table: "b", ids: [4] }]);
    await w.insert("a", []);
    expect(inner.inserts).toHaveLength(2);
  });

  it("writes a window as soon as it holds maxRows, and flush writes the rest", async () => {
    const inner = recorder();
    const w = coalescingWriter(inner, { lingerMs: 10_000, maxRows: 3 });
    const first = w.insert("a", [{ id: 1 }, { id: 2 }]);
    const second = w.insert("a", [{ id: 3 }]);
    await Promise.all([first, second]);
    expect(inner.inserts).toEqual([{ table: "a", ids: [1, 2, 3] }]);
    const third = w.insert("a", [{ id: 4 }]);
    await w.flush();
    await third;
    expect(inner.inserts.at(-1)).toEqual({ table: "a", ids: [4] });
  });

  it("sends each caller's rows again on their own when the joined insert is refused, so only the bad row's caller fails", async () => {
    const inner = recorder((ids) => (ids.includes(2) ? new RowRejectedError("Cannot parse input") : null));
    const w = coalescingWriter(inner, { lingerMs: 5, maxRows: 1000 });
    const good = w.insert("a", [{ id: 1 }]);
    const bad = w.insert("a", [{ id: 2 }, { id: 3 }]);
    const badResult = bad.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(5);
    await good;
    expect(await badResult).toBeInstanceOf(RowRejectedError);
    expect(inner.inserts).toEqual([{ table: "a", ids: [1] }]);
  });

  it("keeps insertIsolating's guarantee: only refused rows come back, every other row is stored", async () => {
    vi.useRealTimers();
    const inner = recorder((ids) => (ids.includes(3) || ids.includes(6) ? new RowRejectedError("Cannot parse input") : null));
    const w = coalescingWriter(inner, { lingerMs: 1, maxRows: 1000 });
    const [x, y] = await Promise.all([
      insertIsolating(w, "t", [1, 2, 3, 4], (id) => ({ id })),
      insertIsolating(w, "t", [5, 6, 7], (id) => ({ id })),
    ]);
    expect(x.map((r) => r.item)).toEqual([3]);
    expect(y.map((r) => r.item)).toEqual([6]);
    expect(inner.inserts.flatMap((i) => i.ids).sort()).toEqual([1, 2, 4, 5, 7]);
  });

  it("fails every caller of a window when ClickHouse cannot be reached", async () => {
    const inner = recorder(() => new TransientError("ECONNREFUSED"));
    const w = coalescingWriter(inner, { lingerMs: 5, maxRows: 1000 });
    const results = [w.insert("a", [{ id: 1 }]), w.insert("a", [{ id: 2 }])].map((p) => p.catch((e: unknown) => e));
    await vi.advanceTimersByTimeAsync(5);
    for (const r of await Promise.all(results)) expect(r).toBeInstanceOf(TransientError);
  });
});
