import { describe, expect, it } from "vitest";
import { emptyPipelineState, newRequest, type CascadePlan } from "@costwise/schemas";
import { cascadeEscalation, checkCascadeAnswer } from "./cascade-check.ts";

const plan: CascadePlan = {
  escalate_tier: "frontier", escalate_model: "gpt-4o", escalate_provider: "openai",
  uncertainty_phrases: ["i'm not sure"], min_chars: 1, escalate_on_truncation: true, format: "text", labels: null, json_schema: null, pattern: "####\\s*-?\\d+",
};
const req = (cascade: CascadePlan | null) => newRequest({
  request_id: "r1", tenant: "t", use_case: "math", messages: [{ role: "user", content: "2+2?" }], model: "gpt-4o", created_at: 0,
  pipeline: { ...emptyPipelineState(), route: { tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "cascade", score: null, reason: "cascade", shadow: false, cascade } },
});

describe("cascade check from the route's plan", () => {
  it("keeps an answer that passes, escalates one that fails to the plan's target with the reasons", () => {
    expect(cascadeEscalation(req(plan), { content: "4\n#### 4", finishReason: "stop" })).toBeNull();
    const up = cascadeEscalation(req(plan), { content: "I'm not sure, maybe 4", finishReason: "length" });
    expect(up).toMatchObject({ tier: "frontier", model: "gpt-4o", provider: "openai", cascade: null });
    expect(up!.reason).toMatch(/escalated from gpt-4o-mini: answer cut off at max_tokens; self-reported uncertainty: "i'm not sure"; answer does not match the required pattern/);
  });

  it("a route without a plan is never escalated; JSON and label formats are checked", () => {
    expect(cascadeEscalation(req(null), { content: "", finishReason: "stop" })).toBeNull();
    const json = { ...plan, pattern: null, format: "json", json_schema: JSON.stringify({ type: "object", required: ["a"] }) };
    expect(checkCascadeAnswer({ content: "```json\n{\"a\": 1}\n```" }, json).pass).toBe(true);
    expect(checkCascadeAnswer({ content: "{\"b\": 1}" }, json).failures[0]).toMatch(/does not match the schema/);
    expect(checkCascadeAnswer({ content: "Refund." }, { ...plan, pattern: null, format: "label", labels: ["refund", "other"] }).pass).toBe(true);
  });
});
