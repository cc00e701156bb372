import { describe, expect, it } from "vitest";
import { renderMessages } from "@costwise/schemas";
import { catalog } from "@costwise/pricing";
import { DistillSwitchView, memoryDistillSwitchStore, type DistilledSwitch } from "./distilled.ts";
import { percentBucket } from "./hash.ts";
import type { PolicyFile } from "./policy.ts";
import { decideRoute, type FallbackInfo, type RouteDeps } from "./route.ts";
import type { ChatPort } from "./strategies/llm.ts";
import { policyOf, request, twoTiers } from "./testing/fixtures.ts";

const sw = (over: Partial<DistilledSwitch> = {}): DistilledSwitch => ({ tenant: "acme", useCase: "chat", model: "gpt-4.1-nano", since: 0, agreement: 0.96, lower: 0.92, samples: 400, ...over });

const policy = (sampleRate = 0, rollout = 100, strategy = "rules") =>
  policyOf({
    version: 1,
    defaults: { shadow: { sampleRate, judge: "exact", similarity: 0.8, judgeModel: null, ttlSeconds: 60 } },
    useCases: { chat: { strategy, tiers: twoTiers(), baseScore: 0.9, rollout } },
  } as PolicyFile);

function deps(switches: DistilledSwitch[], over: Partial<RouteDeps> = {}): RouteDeps {
  return {
    catalog, llm: null, fallback: () => null, renderMessages,
    distilled: (tenant, useCase) => switches.find((s) => s.tenant === tenant && s.useCase === useCase) ?? null,
    ...over,
  };
}

describe("distilled switch", () => {
  it("sends a switched use case to its distilled model as tier 'distilled', skipping the strategy", async () => {
    const calls: unknown[] = [];
    const llm: ChatPort = { chat: async (r) => (calls.push(r), { content: "5", model: r.model, usage: { inputTokens: 1, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1 } }) };
    const out = await decideRoute(request(), policy(0, 100, "llm"), deps([sw()], { llm }));
    expect(out).toMatchObject({ kind: "distilled", overheadNanoUsd: 0, shadow: null, route: { tier: "distilled", model: "gpt-4.1-nano", provider: "openai", strategy: "distilled", score: null, shadow: false } });
    expect(out.route!.reason).toBe("distilled model gpt-4.1-nano (switched with shadow agreement 0.96, 95% lower bound 0.92, over 400 comparisons)");
    expect(calls).toEqual([]); // the LLM router is not paid for a switched request
  });

  it("only switches the tenant the switch names", async () => {
    const out = await decideRoute(request({ tenant: "globex" }), policy(), deps([sw()]));
    expect(out.route).toMatchObject({ tier: "frontier", model: "gpt-4o", strategy: "rules" });
  });

  it("sends only its share of the requests while the switch ramps up", async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `r-${i}`);
    const routed = await Promise.all(ids.map((id) => decideRoute(request({ request_id: id }), policy(), deps([sw({ share: 10 })]))));
    const distilled = routed.filter((o) => o.kind === "distilled").length;
    expect(distilled).toBe(ids.filter((id) => percentBucket(id, "distill-share") < 10).length);
    expect(distilled).toBeGreaterThan(5);
    expect(distilled).toBeLessThan(40);
    expect(routed.filter((o) => o.kind !== "distilled").every((o) => o.route!.strategy === "rules")).toBe(true);
  });

  it("routes a fine-tuned model id at its fine-tuned price", async () => {
    const out = await decideRoute(request(), policy(), deps([sw({ model: "ft:gpt-4o-mini-2024-07-18:acme::B3x9" })]));
    expect(out.route).toMatchObject({ tier: "distilled", model: "ft:gpt-4o-mini-2024-07-18:acme::B3x9", provider: "openai" });
  });

  it("ignores a switch to a model that is not cheaper than the frontier model, or not priced", async () => {
    expect((await decideRoute(request({ model: "gpt-4o-mini" }), policy(), deps([sw({ model: "gpt-4o" })]))).route).toMatchObject({ strategy: "rules", model: "gpt-4o-mini" });
    expect((await decideRoute(request(), policy(), deps([sw({ model: "ft:made-up-base:acme::1" })]))).route).toMatchObject({ strategy: "rules" });
  });

  it("keeps the rollout holdout on the frontier tier", async () => {
    const held = Array.from({ length: 200 }, (_, i) => `r-${i}`).find((id) => percentBucket(id, "rollout") >= 50)!;
    const out = await decideRoute(request({ request_id: held }), policy(0, 50), deps([sw()]));
    expect(out).toMatchObject({ kind: "holdout", route: { tier: "frontier" } });
  });

  it("shadow-samples the distilled route against the frontier tier, and falls back to the frontier while in fallback", async () => {
    const fb: FallbackInfo = { since: 1, agreement: 0.6, samples: 50, floor: 0.8 };
    const live = await decideRoute(request(), policy(1), deps([sw()]));
    expect(live.shadow).toMatchObject({ cheapTier: "distilled", frontierTier: "frontier", cheapModel: "gpt-4.1-nano", frontierModel: "gpt-4o", servedModel: "gpt-4.1-nano", fallback: false, strategy: "distilled" });
    const fellBack = await decideRoute(request(), policy(1), deps([sw()], { fallback: (uc, tier) => (uc === "chat" && tier === "distilled" ? fb : null) }));
    expect(fellBack).toMatchObject({ kind: "fallback", route: { tier: "frontier", model: "gpt-4o", strategy: "distilled", shadow: true } });
    expect(fellBack.route!.reason).toMatch(/^fallback: route distilled agreement 0\.60 < floor 0\.80 over 50 comparisons/);
    expect(fellBack.shadow).toMatchObject({ cheapTier: "distilled", cheapModel: "gpt-4.1-nano", servedModel: "gpt-4o", fallback: true });
  });
});

describe("switch store and view", () => {
  it("round-trips switches per tenant and use case and clears them", async () => {
    const store = memoryDistillSwitchStore();
    await store.set(sw());
    await store.set(sw({ tenant: "globex", model: "gpt-4o-mini" }));
    expect([...(await store.all()).values()].map((s) => `${s.tenant}:${s.model}`).sort()).toEqual(["acme:gpt-4.1-nano", "globex:gpt-4o-mini"]);
    expect(await store.clear("acme", "chat")).toBe(true);
    expect(await store.clear("acme", "chat")).toBe(false);
    await expect(store.set({ ...sw(), agreement: 2 })).rejects.toThrow();
  });

  it("the view keeps the last known switches when the store fails", async () => {
    let fail = false;
    const view = new DistillSwitchView({ all: async () => { if (fail) throw new Error("down"); return new Map([[JSON.stringify(["acme", "chat"]), sw()]]); } }, { refreshMs: 60_000 });
    await view.refresh();
    fail = true;
    await view.refresh();
    expect(view.get("acme", "chat")?.model).toBe("gpt-4.1-nano");
    expect(view.get("acme", "other")).toBeNull();
  });
});
