import { afterAll, describe, expect, it } from "vitest";
import { stackEnv } from "@costwise/infra/testing";
import type { ShadowEntry } from "./route.ts";
import { redisRouteStore } from "./store.ts";

const run = `rst-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const entry = (id: string): ShadowEntry => ({
  request_id: id, tenant: "t", use_case: "chat", created_at: 1, strategy: "rules", score: 0.1, cheapTier: "small", frontierTier: "frontier",
  cheapModel: "gpt-4o-mini", frontierModel: "gpt-4o", servedModel: "gpt-4o-mini", fallback: false, messages: [{ role: "user", content: "hi ✓" }], maxTokens: 5, temperature: 0,
});
const route = { useCase: "chat:with:colons", tier: "small" };

describe("Redis route store", () => {
  const store = redisRouteStore(stackEnv().REDIS_URL!, { prefix: `cw:router-int:${run}`, timeoutMs: 2_000 });
  afterAll(() => store.close());

  it("keeps pending shadows with a TTL and counts each comparison once, atomically", async () => {
    await store.rememberShadow(entry(`${run}-a`), 60);
    await store.rememberShadow(entry(`${run}-b`), 1);
    expect((await store.pendingShadows([`${run}-a`, `${run}-none`])).map((e) => e?.messages[0]?.content ?? null)).toEqual(["hi ✓", null]);
    const [first, again] = await Promise.all([store.completeShadow(`${run}-a`, route, 0, 3), store.completeShadow(`${run}-a`, route, 0, 3)]);
    expect([first.counted, again.counted].sort()).toEqual([false, true]);
    expect(await store.window(route)).toEqual([0]);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await store.pendingShadows([`${run}-b`])).toEqual([null]);
  });

  it("counts the outcome of a remembered cheap-route answer once, in that route's window", async () => {
    const r = { useCase: "chat:outcomes", tier: "small" };
    await store.rememberServed([{ requestId: `${run}-o1`, route: r }, { requestId: `${run}-o2`, route: r }], 60);
    const [a, b] = await Promise.all([store.countOutcome(`${run}-o1`, 0, () => 3), store.countOutcome(`${run}-o1`, 1, () => 3)]);
    expect([a, b].filter((x) => x !== null)).toHaveLength(1);
    expect((await store.countOutcome(`${run}-o2`, 1, () => 3))!).toEqual({ route: r, window: [1, a ? 0 : 1] });
    expect(await store.countOutcome(`${run}-unknown`, 0, () => 3)).toBeNull();
    expect(await store.window(r)).toHaveLength(2);
  });

  it("keeps a paid shadow answer until the comparison completes, and lets it expire", async () => {
    const answer = { content: "Tuesday ✓", model: "gpt-4o", usage: { inputTokens: 9, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 3 } };
    await store.rememberShadow(entry(`${run}-k`), 60);
    await store.rememberShadowAnswer(`${run}-k`, answer, 60);
    await store.rememberShadowAnswer(`${run}-short`, answer, 1);
    expect(await store.shadowAnswer(`${run}-k`)).toEqual(answer);
    await store.completeShadow(`${run}-k`, route, 1, 3);
    expect(await store.shadowAnswer(`${run}-k`)).toBeNull();
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await store.shadowAnswer(`${run}-short`)).toBeNull();
  });

  it("trims the window and lets exactly one caller enter or leave fallback", async () => {
    for (const [i, v] of [1, 1, 0, 1].entries()) {
      await store.rememberShadow(entry(`${run}-w${i}`), 60);
      await store.completeShadow(`${run}-w${i}`, route, v as 0 | 1, 3);
    }
    expect(await store.window(route)).toEqual([1, 0, 1]);
    const info = { since: 5, agreement: 0.2, samples: 3, floor: 0.5 };
    expect((await Promise.all([store.enterFallback(route, info), store.enterFallback(route, info)])).sort()).toEqual([false, true]);
    await store.updateFallback(route, { ...info, agreement: 0.4 });
    expect((await store.fallbacks()).get(JSON.stringify([route.useCase, route.tier]))).toEqual({ ...info, agreement: 0.4 });
    await store.resetRoute(route);
    expect((await store.fallbacks()).has(JSON.stringify([route.useCase, route.tier]))).toBe(false);
    expect(await store.window(route)).toEqual([]);
  });
});
