import { describe, expect, it } from "vitest";
import { emptyPipelineState, renderMessages } from "@costwise/schemas";
import { answerWanted, buildSample, captureSampled, isFrontierAnswer, planFor, promptHash } from "./capture.ts";
import { createRedactor } from "./redact.ts";
import { request, response, triagePolicy } from "./testing/fixtures.ts";

const routed = (tier: string, model: string) => ({ pipeline: { ...emptyPipelineState(), route: { tier, model, provider: "openai", strategy: "rules", score: 0.2, reason: "", shadow: false } } });

describe("capture", () => {
  const policy = triagePolicy();
  const uc = policy.useCases.get("triage")!;
  const redact = createRedactor(uc.capture.redaction);

  it("remembers the rendered prompt (context chunks included) for sampled requests only", () => {
    const p = planFor(request("r1", { context: [{ id: "kb1", text: "Fees are listed online.", score: 0.9 }] }), policy, renderMessages)!;
    expect(p).toMatchObject({ capture: true, shadow: true, route: null, model: "gpt-4o" });
    expect(p.messages.at(-1)!.content).toContain("[kb1] Fees are listed online.");
    expect(planFor(request("r1", { use_case: "other" }), policy, renderMessages)).toBeNull();
    const half = triagePolicy({ capture: { enabled: true, sampleRate: 0.5 }, shadow: { sampleRate: 0 } });
    const ids = Array.from({ length: 2000 }, (_, i) => `req-${i}`);
    const kept = ids.filter((id) => planFor(request(id), half, renderMessages) !== null);
    expect(kept.length / ids.length).toBeGreaterThan(0.45);
    expect(kept.length / ids.length).toBeLessThan(0.55);
    expect(kept.every((id) => captureSampled(id, 0.5))).toBe(true); // deterministic by request id
  });

  it("counts as frontier: the router's frontier tier, a listed frontier model, or the caller's model when not routed", () => {
    const p = (over = {}) => planFor(request("r2", over), policy, renderMessages)!;
    expect(isFrontierAnswer(p(), response("r2"), uc)).toBe(true);
    expect(isFrontierAnswer(p(), response("r2", { model: "gpt-4o-mini" }), uc)).toBe(false); // a provider fallback answered
    expect(isFrontierAnswer(p(routed("frontier", "gpt-4o")), response("r2"), uc)).toBe(true);
    expect(isFrontierAnswer(p(routed("small", "gpt-4o-mini")), response("r2", { model: "gpt-4o-mini" }), uc)).toBe(false);
    const listed = triagePolicy({ capture: { enabled: true, frontierModels: ["gpt-4o-mini"] } }).useCases.get("triage")!;
    expect(isFrontierAnswer(p(routed("small", "gpt-4o-mini")), response("r2", { model: "gpt-4o-mini" }), listed)).toBe(true);
  });

  it("captures no tool conversations: a sample carries text turns and a text answer only", () => {
    const p = planFor(request("r4"), policy, renderMessages)!;
    expect(buildSample(p, response("r4", { content: "", tool_calls: [{ id: "c", name: "f", arguments: "{}" }] }), uc, redact, 1)).toEqual({ skipped: "answer calls tools" });
    const withResult = { ...p, messages: [...p.messages, { role: "assistant", content: "", tool_calls: [{ id: "c", name: "f", arguments: "{}" }] }, { role: "tool", content: "42", tool_call_id: "c" }] };
    expect(buildSample(withResult, response("r4", { content: "It is 42, as the tool reported." }), uc, redact, 1)).toEqual({ skipped: "prompt carries tool calls" });
  });

  it("builds a redacted sample: prompt and answer redacted, counts summed, prompt hash over the redacted text", () => {
    const p = planFor(request("r3"), policy, renderMessages)!;
    const r = buildSample(p, response("r3", { content: "Sure, I'll reply to jane.doe@example.com" }), uc, redact, 99);
    if (!("sample" in r)) throw new Error(r.skipped);
    expect(r.sample.messages[1]!.content).toBe("Message r3: please email me at [EMAIL]");
    expect(r.sample.completion).toBe("Sure, I'll reply to [EMAIL]");
    expect(r.sample.redactions).toEqual({ email: 2 });
    expect(r.sample).toMatchObject({ model: "gpt-4o", served_by: "REALTIME", sample_rate: 1, captured_at: 99, quality: null });
    expect(r.sample.prompt_hash).toBe(promptHash(r.sample.messages));
    expect(JSON.stringify(r.sample)).not.toContain("jane.doe");
  });

  it("filters: errors, non-frontier answers, reject phrases, length and the quality signal", () => {
    const p = planFor(request("r4"), policy, renderMessages)!;
    const skipped = (res = response("r4"), u = uc, plan = p) => {
      const r = buildSample(plan, res, u, redact, 1);
      return "skipped" in r ? r.skipped : "captured";
    };
    expect(skipped(response("r4", { status: "ERROR", content: null }))).toBe("not OK");
    expect(skipped(response("r4", { model: "gpt-4.1-nano" }))).toBe("not a frontier answer");
    expect(skipped(response("r4", { content: "I'm not sure which team handles that." }))).toBe("answer has a reject phrase");
    expect(skipped(response("r4", { content: "   " }))).toBe("answer too short");
    const q = triagePolicy({ capture: { enabled: true, filters: { quality: { tag: "costwise.quality", min: 0.8, missing: "drop" } } } });
    const qu = q.useCases.get("triage")!;
    const rated = (v?: string) => planFor(request("r4", { tags: v === undefined ? {} : { "costwise.quality": v } }), q, renderMessages)!;
    expect(skipped(response("r4"), qu, rated())).toBe("no quality signal");
    expect(skipped(response("r4"), qu, rated("0.5"))).toBe("quality below minimum");
    expect(skipped(response("r4"), qu, rated("0.9"))).toBe("captured");
  });

  it("holds only answers that can be used: OK model answers of sampled requests, never cache hits", () => {
    expect(answerWanted(response("r5"), policy)).toBe(true);
    expect(answerWanted(response("r5", { served_by: "CACHE_EXACT" }), policy)).toBe(false);
    expect(answerWanted(response("r5", { status: "ERROR", content: null }), policy)).toBe(false);
    expect(answerWanted(response("r5", { use_case: "other" }), policy)).toBe(false);
  });

  it("normalises prompts for deduplication: case and whitespace do not matter, roles and words do", () => {
    const h = (content: string, role = "user") => promptHash([{ role, content }]);
    expect(h("Reset my  PIN\n")).toBe(h("reset my pin"));
    expect(h("reset my pin")).not.toBe(h("reset my pin", "system"));
    expect(h("reset my pin")).not.toBe(h("reset my card"));
  });
});
