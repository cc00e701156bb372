import { describe, expect, it } from "vitest";
import { FallbackView, memoryRouteStore } from "./store.ts";
import type { ShadowEntry } from "./route.ts";

const entry = (id: string): ShadowEntry => ({
  request_id: id, tenant: "t", use_case: "chat", created_at: 1, strategy: "rules", score: 0.1, cheapTier: "small", frontierTier: "frontier",
  cheapModel: "gpt-4o-mini", frontierModel: "gpt-4o", servedModel: "gpt-4o-mini", fallback: false, messages: [{ role: "user", content: "hi" }], maxTokens: null, temperature: null,
});
const route = { useCase: "chat", tier: "small" };

describe("memory route store", () => {
  it("forgets pending entries after their TTL", async () => {
    let now = 0;
    const s = memoryRouteStore(() => now);
    await s.rememberShadow(entry("a"), 10);
    expect((await s.pendingShadows(["a", "b"])).map((e) => e?.request_id ?? null)).toEqual(["a", null]);
    now = 10_001;
    expect(await s.pendingShadows(["a"])).toEqual([null]);
  });

  it("counts a comparison once, newest first, trimmed to the window", async () => {
    const s = memoryRouteStore();
    for (const [i, v] of [1, 0, 1].entries()) {
      await s.rememberShadow(entry(`r${i}`), 60);
      await s.completeShadow(`r${i}`, route, v as 0 | 1, 2);
    }
    expect(await s.window(route)).toEqual([1, 0]);
    // Redelivered: the entry is gone, nothing is counted.
    expect(await s.completeShadow("r2", route, 1, 2)).toEqual({ window: [1, 0], counted: false });
    // Undecided comparisons consume the entry without counting.
    await s.rememberShadow(entry("u"), 60);
    expect(await s.completeShadow("u", route, null, 2)).toEqual({ window: [1, 0], counted: false });
    expect(await s.pendingShadows(["u"])).toEqual([null]);
  });

  it("a route enters fallback once, however many judges see the drop", async () => {
    const s = memoryRouteStore();
    const info = { since: 1, agreement: 0.1, samples: 5, floor: 0.5 };
    expect(await s.enterFallback(route, info)).toBe(true);
    expect(await s.enterFallback(route, { ...info, since: 2 })).toBe(false);
    await s.updateFallback(route, { ...info, agreement: 0.3 });
    expect((await s.fallbacks()).get(JSON.stringify(["chat", "small"]))).toEqual({ ...info, agreement: 0.3 });
    expect(await s.leaveFallback(route)).toBe(true);
    expect(await s.leaveFallback(route)).toBe(false);
    await s.updateFallback(route, info);
    expect((await s.fallbacks()).size).toBe(0);
  });

  it("reset clears the fallback and the window", async () => {
    const s = memoryRouteStore();
    await s.enterFallback(route, { since: 1, agreement: 0.1, samples: 5, floor: 0.5 });
    await s.rememberShadow(entry("x"), 60);
    await s.completeShadow("x", route, 0, 5);
    await s.resetRoute(route);
    expect((await s.fallbacks()).size).toBe(0);
    expect(await s.window(route)).toEqual([]);
  });
});

describe("fallback view", () => {
  it("serves the last states it read and keeps them when the store fails", async () => {
    const s = memoryRouteStore();
    await s.enterFallback(route, { since: 1, agreement: 0.1, samples: 5, floor: 0.5 });
    let fail = false;
    const errors: unknown[] = [];
    const view = new FallbackView({ fallbacks: () => (fail ? Promise.reject(new Error("down")) : s.fallbacks()) }, { refreshMs: 60_000, onError: (e) => errors.push(e) });
    await view.refresh();
    expect(view.get("chat", "small")).toMatchObject({ agreement: 0.1 });
    expect(view.get("chat", "other")).toBeNull();
    fail = true;
    await s.leaveFallback(route);
    await view.refresh();
    expect(view.get("chat", "small")).toMatchObject({ agreement: 0.1 });
    expect(errors).toHaveLength(1);
    view.close();
  });
});
