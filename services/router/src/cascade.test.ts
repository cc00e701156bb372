import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import type { PolicyFile } from "./policy.ts";
import { addOverhead, cascadeCheck, cascadeDecision, escalatedRoute, isCascade } from "./cascade.ts";
import { renderMessages } from "@costwise/schemas";
import { cascadeEscalation } from "@costwise/route-state";
import { decideRoute } from "./route.ts";
import { policyOf, request, twoTiers } from "./testing/fixtures.ts";

const policy = policyOf({
  version: 1,
  useCases: {
    text: { strategy: "cascade", tiers: twoTiers(), cascade: { uncertaintyPhrases: ["i'm not sure", "not in the context"], minChars: 3 } },
    json: { strategy: "cascade", tiers: twoTiers(), cascade: { format: "json", jsonSchema: { type: "object", required: ["intent"], properties: { intent: { type: "string" } } } } },
    label: { strategy: "cascade", tiers: twoTiers(), cascade: { format: "label", labels: ["card_arrival", "refund"] } },
    math: { strategy: "cascade", tiers: twoTiers(), cascade: { pattern: "####\\s*-?\\d+" } },
  },
} as PolicyFile);
const uc = (name: string) => policy.useCases.get(name)!;

describe("cascade check", () => {
  it("accepts a plain, complete answer", () => {
    expect(cascadeCheck({ content: "Your card arrives in 3-5 working days.", finishReason: "stop" }, uc("text").cascade)).toEqual({ pass: true, failures: [] });
  });

  it.each([
    [{ content: "", finishReason: "stop" }, "empty answer"],
    [{ content: null }, "empty answer"],
    [{ content: "ok", finishReason: "stop" }, "answer shorter than 3 characters"],
    [{ content: "Your card arrives in", finishReason: "length" }, "answer cut off at max_tokens"],
    [{ content: "I'm NOT sure, but probably Tuesday.", finishReason: "stop" }, 'self-reported uncertainty: "i\'m not sure"'],
    [{ content: "That is not in the context provided.", finishReason: "stop" }, 'self-reported uncertainty: "not in the context"'],
  ])("escalates %j", (answer, failure) => {
    const check = cascadeCheck(answer, uc("text").cascade);
    expect(check.pass).toBe(false);
    expect(check.failures).toContain(failure);
  });

  it("checks JSON answers against the schema, fenced or not", () => {
    const c = uc("json").cascade;
    expect(cascadeCheck({ content: '```json\n{"intent": "refund"}\n```' }, c).pass).toBe(true);
    expect(cascadeCheck({ content: "intent: refund" }, c).failures).toEqual(["answer is not valid JSON"]);
    expect(cascadeCheck({ content: '{"label": "refund"}' }, c).failures).toEqual(["JSON does not match the schema: / must have required property 'intent'"]);
    expect(cascadeCheck({ content: '{"intent": 7}' }, c).failures).toEqual(["JSON does not match the schema: /intent must be string"]);
  });

  it("checks labels against the allowed set, ignoring case, quotes and a final full stop", () => {
    const c = uc("label").cascade;
    expect(cascadeCheck({ content: ' "Card_Arrival". ' }, c).pass).toBe(true);
    expect(cascadeCheck({ content: "card_delivery" }, c).failures).toEqual(["answer is not one of the 2 allowed labels"]);
  });

  it("requires the use case's pattern", () => {
    const c = uc("math").cascade;
    expect(cascadeCheck({ content: "3 + 4 = 7\n#### 7" }, c).pass).toBe(true);
    expect(cascadeCheck({ content: "The answer is 7." }, c).failures).toEqual(["answer does not match the required pattern /####\\s*-?\\d+/"]);
  });
});

describe("executor-side helpers", () => {
  const routed = request({
    use_case: "text", model: "gpt-4o",
    pipeline: { stage_ms: { router: 1 }, overhead_cost_nanousd: 0, overhead: {}, compression: null, cache_lookup: null, embedding: null, route: { tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "cascade", score: null, reason: "cascade", shadow: false, cascade: null } },
  });

  it("cascadeDecision tells the executor whether to escalate, and why", () => {
    expect(cascadeDecision({ content: "Tuesday." }, uc("text"))).toEqual({ escalate: false, reasons: [] });
    expect(cascadeDecision({ content: "I'm not sure." }, uc("text"))).toEqual({ escalate: true, reasons: ['self-reported uncertainty: "i\'m not sure"'] });
  });

  it("escalatedRoute names the frontier model and keeps the trail", () => {
    expect(isCascade(routed)).toBe(true);
    expect(escalatedRoute(routed, policy, catalog, ["empty answer"])).toEqual({
      tier: "frontier", model: "gpt-4o", provider: "openai", strategy: "cascade", score: null, shadow: false, reason: "cascade; escalated from gpt-4o-mini: empty answer", cascade: null,
    });
    expect(escalatedRoute(request({ use_case: "text" }), policy, catalog, ["x"])).toBeNull();
  });

  it("the router puts the escalation target and checks on the route, so the executor needs no policy", async () => {
    const out = await decideRoute(request({ use_case: "text", model: "gpt-4o" }), policy, { catalog, llm: null, fallback: () => null, renderMessages });
    expect(out.route?.cascade).toMatchObject({ escalate_tier: "frontier", escalate_model: "gpt-4o", escalate_provider: "openai", format: "text" });
    const req = request({ use_case: "text", model: "gpt-4o", pipeline: { ...routed.pipeline!, route: out.route } });
    expect(cascadeEscalation(req, { content: "Tuesday.", finishReason: "stop" })).toBeNull();
    expect(cascadeEscalation(req, { content: "I'm not sure.", finishReason: "stop" })).toMatchObject({ tier: "frontier", model: "gpt-4o", cascade: null });
  });

  it("addOverhead charges the failed cheap attempt to routing without touching other sources", () => {
    const p = addOverhead(routed.pipeline, "router", 1_234);
    expect(p.overhead).toEqual({ router: 1_234 });
    expect(p.overhead_cost_nanousd).toBe(1_234);
    const again = addOverhead({ ...p, overhead: { ...p.overhead, embedding: 10 }, overhead_cost_nanousd: 1_244 }, "router", 6);
    expect(again.overhead).toEqual({ router: 1_240, embedding: 10 });
    expect(again.overhead_cost_nanousd).toBe(1_250);
    expect(addOverhead(null, "router", 0)).toMatchObject({ overhead: {}, overhead_cost_nanousd: 0 });
  });
});
