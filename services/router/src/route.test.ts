import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { renderMessages } from "@costwise/schemas";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { DENSE_FEATURES, FEATURE_VERSION } from "./features.ts";
import { percentBucket } from "./hash.ts";
import type { ClassifierModel } from "./classifier.ts";
import { decideRoute, type FallbackInfo, type RouteDeps } from "./route.ts";
import type { ChatPort } from "./strategies/llm.ts";
import { POLICY_DATE, policyOf, request, twoTiers } from "./testing/fixtures.ts";

const usage = { inputTokens: 180, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1 };

function deps(over: Partial<RouteDeps> = {}): RouteDeps {
  return { catalog, llm: null, fallback: () => null, renderMessages, now: () => POLICY_DATE, ...over };
}

const chatAnswering = (content: string, calls: unknown[] = []): ChatPort => ({
  chat: async (req) => {
    calls.push(req);
    return { content, model: req.model, usage };
  },
});

const one = (uc: Record<string, unknown>, defaults: Record<string, unknown> = {}) =>
  policyOf({ version: 1, defaults: { shadow: { sampleRate: 0, judge: "exact", similarity: 0.8, judgeModel: null, ttlSeconds: 60 }, ...defaults }, useCases: { chat: { tiers: twoTiers(), ...uc } } });

const rulesPolicy = one({
  strategy: "rules",
  baseScore: 0.2,
  rules: [
    { name: "pin", tags: { "costwise.route": "frontier" }, tier: "frontier" },
    { name: "math", keywords: ["integral", "solve"], add: 0.4 },
    { name: "greeting", keywords: ["hello"], add: -0.1 },
  ],
});

describe("rules strategy", () => {
  it("sends a plain question to the small tier with the rules that matched", async () => {
    const out = await decideRoute(request(), rulesPolicy, deps());
    expect(out.route).toEqual({ tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "rules", score: expect.closeTo(0.1, 9), reason: "rules (greeting) score 0.10 → small", shadow: false, cascade: null });
    expect(out.kind).toBe("routed");
    expect(out.overheadNanoUsd).toBe(0);
  });

  it("sends a math request to the caller's model", async () => {
    const out = await decideRoute(request({ messages: [{ role: "user", content: "Solve the integral of x^2 from 0 to 3" }] }), rulesPolicy, deps());
    expect(out.route).toMatchObject({ tier: "frontier", model: "gpt-4o", provider: "openai", score: expect.closeTo(0.6, 9) });
  });

  it("matches rules on tools and JSON output, which are not classifier features", async () => {
    const policy = one({ strategy: "rules", baseScore: 0.2, rules: [{ name: "agent", hasTools: true, tier: "frontier" }, { name: "structured", jsonOutput: true, add: 0.5 }] });
    const tools = [{ name: "f", description: null, parameters: '{"type":"object"}', strict: null }];
    expect((await decideRoute(request({ tools }), policy, deps())).route).toMatchObject({ tier: "frontier", reason: expect.stringContaining("agent") });
    const json = await decideRoute(request({ response_format: { type: "json_object", name: null, schema: null, strict: null } }), policy, deps());
    expect(json.route).toMatchObject({ tier: "frontier", score: expect.closeTo(0.7, 9) });
    expect((await decideRoute(request(), policy, deps())).route).toMatchObject({ tier: "small" });
  });

  it("a forcing rule wins over the score", async () => {
    const out = await decideRoute(request({ tags: { "costwise.route": "frontier" } }), rulesPolicy, deps());
    expect(out).toMatchObject({ kind: "forced", route: { tier: "frontier", model: "gpt-4o" } });
    expect(out.route!.reason).toContain("rule forced tier frontier (pin,greeting)");
  });

  it("keeps the caller's provider: an Anthropic caller gets the Anthropic small model", async () => {
    const out = await decideRoute(request({ model: "claude-sonnet-5-5" }), rulesPolicy, deps());
    expect(out.route).toMatchObject({ tier: "small", model: "claude-haiku-4-5", provider: "anthropic" });
  });

  it("is price-aware: a tier that is not cheaper than the caller's model is skipped", async () => {
    const out = await decideRoute(request({ model: "gpt-4o-mini" }), rulesPolicy, deps());
    expect(out).toMatchObject({ kind: "not-cheaper", route: { tier: "frontier", model: "gpt-4o-mini" } });
    expect(out.route!.reason).toContain("gpt-4o-mini is not cheaper than gpt-4o-mini");
  });

  it("uses the use case's defaultModel when the request names none", async () => {
    const p = one({ strategy: "rules", baseScore: 0.9, defaultModel: "gpt-4.1" });
    const out = await decideRoute(request({ model: null }), p, deps());
    expect(out.route).toMatchObject({ tier: "frontier", model: "gpt-4.1" });
  });
});

describe("retired models", () => {
  const on = (day: string) => deps({ now: () => Date.parse(`${day}T12:00:00Z`) });

  it("routes a retired caller model as its documented successor and flags the route", async () => {
    const hard = request({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "Solve the integral of x^2 from 0 to 3" }] });
    const out = await decideRoute(hard, rulesPolicy, on("2026-12-02"));
    expect(out.route).toMatchObject({ tier: "frontier", model: "claude-sonnet-5-5", provider: "anthropic", substituted_from: "claude-sonnet-4-5" });
    expect(out.route!.reason).toMatch(/^claude-sonnet-4-5 is retired: routed as its successor claude-sonnet-5-5; rules/);
    // The cheap tier still serves what it can; the flag stays on the route.
    expect((await decideRoute({ ...hard, messages: [{ role: "user", content: "hello" }] }, rulesPolicy, on("2026-12-02"))).route).toMatchObject({ tier: "small", model: "claude-haiku-4-5", substituted_from: "claude-sonnet-4-5" });
  });

  it("substitutes from the retirement date on, not before", async () => {
    const hard = request({ model: "gpt-4o", messages: [{ role: "user", content: "Solve the integral of x^2 from 0 to 3" }] });
    const before = await decideRoute(hard, rulesPolicy, on("2027-01-13"));
    expect(before.route).toMatchObject({ model: "gpt-4o" });
    expect(before.route!.substituted_from).toBeUndefined();
    // gpt-4o's successor gpt-6-luna is cheaper than the policy's small tier: the tier is skipped.
    const after = await decideRoute({ ...hard, messages: [{ role: "user", content: "hello" }] }, rulesPolicy, on("2027-01-14"));
    expect(after).toMatchObject({ kind: "not-cheaper", route: { tier: "frontier", model: "gpt-6-luna", substituted_from: "gpt-4o" } });
  });

  it("moves a use case without a policy off a retired model too, and leaves one without a priced successor alone", async () => {
    const out = await decideRoute(request({ use_case: "unknown", model: "claude-sonnet-4-5" }), rulesPolicy, on("2026-12-02"));
    expect(out).toMatchObject({ kind: "passthrough", route: { strategy: "passthrough", model: "claude-sonnet-5-5", substituted_from: "claude-sonnet-4-5" } });
    const nano = await decideRoute(request({ use_case: "unknown", model: "gpt-5-nano" }), rulesPolicy, on("2026-12-11"));
    expect(nano.route).toMatchObject({ model: "gpt-5-nano" });
    expect(nano.route!.substituted_from).toBeUndefined();
  });
});

describe("passthrough", () => {
  it("a use case without a policy keeps the caller's model", async () => {
    const out = await decideRoute(request({ use_case: "unknown" }), rulesPolicy, deps());
    expect(out.route).toEqual({ tier: "frontier", model: "gpt-4o", provider: "openai", strategy: "passthrough", score: null, reason: 'no routing policy for use case "unknown"', shadow: false, cascade: null });
  });

  it("a request naming no model and no passthrough model gets no route (the executor's default applies)", async () => {
    const out = await decideRoute(request({ use_case: "unknown", model: null }), rulesPolicy, deps());
    expect(out.route).toBeNull();
  });

  it("a model outside the catalog is not routed, so the executor can reject it", async () => {
    const out = await decideRoute(request({ model: "gpt-17-ultra" }), rulesPolicy, deps());
    expect(out.route).toMatchObject({ tier: "frontier", model: "gpt-17-ultra", provider: "", strategy: "passthrough" });
    expect(out.route!.reason).toContain('model "gpt-17-ultra" is not in the price catalog');
  });
});

function modelFile(bias: number, kwMathWeight: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), "router-model-"));
  const n = DENSE_FEATURES.length;
  const model: ClassifierModel = {
    format: "costwise-router-classifier", version: "test-model", featureVersion: FEATURE_VERSION, hashBits: 4, bias,
    hashedWeights: new Array(16).fill(0),
    dense: { names: [...DENSE_FEATURES], mean: new Array(n).fill(0), std: new Array(n).fill(1), weights: DENSE_FEATURES.map((f) => (f === "kw_math" ? kwMathWeight : 0)) },
    training: {},
  };
  const file = path.join(dir, "model.json");
  writeFileSync(file, JSON.stringify(model));
  return file;
}

describe("classifier strategy", () => {
  // p = sigmoid(-2 + 3·(math keyword count)): 0.12 without a math keyword, 0.73 with one.
  const p = one({ strategy: "classifier", classifier: { model: modelFile(-2, 3) } });

  it("sends a request the model scores below the tier's maxScore to the small tier", async () => {
    const out = await decideRoute(request(), p, deps());
    expect(out.route).toMatchObject({ tier: "small", model: "gpt-4o-mini", strategy: "classifier", score: expect.closeTo(1 / (1 + Math.exp(2)), 6) });
    expect(out.route!.reason).toBe("classifier test-model p(strong needed)=0.12 → small");
  });

  it("sends a request it scores above the threshold to the frontier", async () => {
    const out = await decideRoute(request({ messages: [{ role: "user", content: "Calculate the probability of two sixes" }] }), p, deps());
    expect(out.route).toMatchObject({ tier: "frontier", model: "gpt-4o" });
    expect(out.route!.score!).toBeGreaterThan(0.5);
  });
});

describe("llm strategy", () => {
  const p = one({ strategy: "llm", llm: { model: "gpt-5-nano", unparseableScore: 1 } });
  const expectedCost = costOf(requireModel(catalog, "gpt-5-nano"), usage).totalNanoUsd;

  it("asks the routing model, records its cost, and follows its rating", async () => {
    const calls: { model: string; maxTokens?: number | null; messages: readonly { role: string; content: string }[] }[] = [];
    const out = await decideRoute(request(), p, deps({ llm: chatAnswering("2", calls) }));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ model: "gpt-5-nano", maxTokens: 4 });
    expect(calls[0]!.messages[1]!.content).toContain("what are your opening hours?");
    expect(out.route).toMatchObject({ tier: "small", strategy: "llm", score: 0.25, reason: "llm gpt-5-nano rated 2/5 → small" });
    expect(expectedCost).toBeGreaterThan(0);
    expect(out.overheadNanoUsd).toBe(expectedCost);
  });

  it("a high rating goes to the frontier, still paying for the routing call", async () => {
    const out = await decideRoute(request(), p, deps({ llm: chatAnswering("5") }));
    expect(out.route).toMatchObject({ tier: "frontier", score: 1 });
    expect(out.overheadNanoUsd).toBe(expectedCost);
  });

  it("an unreadable answer uses unparseableScore", async () => {
    const out = await decideRoute(request(), p, deps({ llm: chatAnswering("Regarding your request: it depends.") }));
    expect(out.route).toMatchObject({ tier: "frontier", score: 1 });
    expect(out.route!.reason).toContain("answer unreadable");
  });

  it("a failing routing call sends the request to the frontier instead of failing it", async () => {
    const out = await decideRoute(request(), p, deps({ llm: { chat: async () => { throw new TypeError("socket hang up"); } } }));
    expect(out).toMatchObject({ kind: "router-error", overheadNanoUsd: 0, route: { tier: "frontier", model: "gpt-4o", score: null, reason: "llm router failed (TypeError)" } });
  });
});

describe("cascade strategy", () => {
  it("routes to the cheapest tier and marks the route for the executor's escalation check", async () => {
    const out = await decideRoute(request({ model: "claude-sonnet-5-5" }), one({ strategy: "cascade" }), deps());
    expect(out.route).toMatchObject({ tier: "small", model: "claude-haiku-4-5", provider: "anthropic", strategy: "cascade", score: null });
  });
});

describe("rollout", () => {
  const p = one({ strategy: "rules", baseScore: 0, rollout: 30 });
  const ids = Array.from({ length: 2000 }, (_, i) => `r-${i}`);

  it("lets only the rollout percentage of requests leave the frontier tier, by request id", async () => {
    const outs = await Promise.all(ids.map((id) => decideRoute(request({ request_id: id }), p, deps())));
    const cheap = outs.filter((o) => o.route!.tier === "small").length / ids.length;
    expect(cheap).toBeGreaterThan(0.27);
    expect(cheap).toBeLessThan(0.33);
    for (const [i, o] of outs.entries()) {
      const inRollout = percentBucket(ids[i]!, "rollout") < 30;
      expect(o.route!.tier).toBe(inRollout ? "small" : "frontier");
      if (!inRollout) expect(o).toMatchObject({ kind: "holdout", route: { reason: expect.stringMatching(/^rollout holdout: bucket \d+\.\d\d ≥ 30%/) } });
    }
  });

  it("is deterministic: the same request id always gets the same decision", async () => {
    const a = await Promise.all(ids.slice(0, 200).map((id) => decideRoute(request({ request_id: id }), p, deps())));
    const b = await Promise.all(ids.slice(0, 200).map((id) => decideRoute(request({ request_id: id }), p, deps())));
    expect(b.map((o) => o.route)).toEqual(a.map((o) => o.route));
  });

  it("percentBucket is stable across releases and independent per purpose", () => {
    expect(percentBucket("req-1", "rollout")).toBeCloseTo(percentBucket("req-1", "rollout"), 12);
    expect(percentBucket("req-1", "rollout")).not.toBeCloseTo(percentBucket("req-1", "shadow"), 3);
    for (const id of ids.slice(0, 100)) {
      const b = percentBucket(id, "rollout");
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(100);
    }
  });
});

describe("shadow sampling and fallback", () => {
  it("samples the configured share of cheap-tier requests, with what the shadow call needs", async () => {
    const p = one({ strategy: "rules", baseScore: 0, shadow: { sampleRate: 0.2 } });
    const ids = Array.from({ length: 2000 }, (_, i) => `s-${i}`);
    const outs = await Promise.all(ids.map((id) => decideRoute(request({ request_id: id, max_tokens: 64, temperature: 0, context: [{ id: "c1", text: "Opening hours: 9-17.", score: 1 }] }), p, deps())));
    const sampled = outs.filter((o) => o.shadow !== null);
    expect(sampled.length / ids.length).toBeGreaterThan(0.17);
    expect(sampled.length / ids.length).toBeLessThan(0.23);
    const s = sampled[0]!;
    expect(s.route!.shadow).toBe(true);
    expect(s.shadow).toMatchObject({ use_case: "chat", tenant: "acme", cheapTier: "small", frontierTier: "frontier", cheapModel: "gpt-4o-mini", frontierModel: "gpt-4o", servedModel: "gpt-4o-mini", fallback: false, maxTokens: 64, temperature: 0 });
    expect(s.shadow!.messages.at(-1)!.content).toContain("[c1] Opening hours: 9-17.");
    expect(outs.filter((o) => o.shadow === null).every((o) => o.route!.shadow === false)).toBe(true);
  });

  it("never samples requests that go to the frontier anyway", async () => {
    const p = one({ strategy: "rules", baseScore: 0.9, shadow: { sampleRate: 1 } });
    const out = await decideRoute(request(), p, deps());
    expect(out.route!.tier).toBe("frontier");
    expect(out.shadow).toBeNull();
  });

  it("a route in fallback goes to the frontier, and its shadow sample compares the cheap model instead", async () => {
    const p = one({ strategy: "rules", baseScore: 0, shadow: { sampleRate: 1 } });
    const fb: FallbackInfo = { since: 5, agreement: 0.4, samples: 60, floor: 0.8 };
    const out = await decideRoute(request(), p, deps({ fallback: (uc, tier) => (uc === "chat" && tier === "small" ? fb : null) }));
    expect(out.kind).toBe("fallback");
    expect(out.route).toMatchObject({ tier: "frontier", model: "gpt-4o", shadow: true, reason: expect.stringMatching(/^fallback: route small agreement 0\.40 < floor 0\.80 over 60 comparisons/) });
    expect(out.shadow).toMatchObject({ servedModel: "gpt-4o", cheapModel: "gpt-4o-mini", fallback: true });
  });
});
