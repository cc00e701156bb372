import { describe, expect, it } from "vitest";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import type { ChatPort } from "../strategies/llm.ts";
import { embeddingSimilarity, exactAgreement, judgeAnswers, parseVerdict, structuredAgreement } from "./judge.ts";

const usage = { inputTokens: 300, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1 };
const judgeChat = (content: string): ChatPort => ({ chat: async (r) => ({ content, model: r.model, usage }) });
const base = { similarity: 0.6, judgeModel: null, chat: judgeChat(""), catalog, request: "q", requestId: "r" };

describe("agreement judges", () => {
  it("exact: same text up to case, spacing and a final full stop", () => {
    expect(exactAgreement("Card arrival.", "  card   ARRIVAL")).toBe(1);
    expect(exactAgreement("card arrival", "card delivery")).toBe(0);
  });

  it("structured: equal JSON values whatever the key order, else equal first-line labels", () => {
    expect(structuredAgreement('{"a": 1, "b": ["X"]}', '```json\n{"b": ["x"], "a": 1}\n```')).toBe(1);
    expect(structuredAgreement('{"a": 1}', '{"a": 2}')).toBe(0);
    expect(structuredAgreement('"refund_request"', "Refund_request.\nBecause the customer asked.")).toBe(1);
    expect(structuredAgreement("refund_request", "card_arrival")).toBe(0);
  });

  it("embedding: identical texts score 1, shared wording scores higher than unrelated text", () => {
    const a = "Your new card will arrive within five working days.";
    expect(embeddingSimilarity(a, a)).toBeCloseTo(1, 12);
    const near = embeddingSimilarity(a, "The new card should arrive within five working days.");
    const far = embeddingSimilarity(a, "Transfers to other banks take one day.");
    expect(near).toBeGreaterThan(0.5);
    expect(far).toBeLessThan(0.2);
    expect(embeddingSimilarity("", "")).toBe(1);
  });

  it("applies the similarity threshold for the embedding judge", async () => {
    const a = "Your new card will arrive within five working days.";
    expect(await judgeAnswers(a, a, { ...base, method: "embedding" })).toMatchObject({ agreed: true, costNanoUsd: 0 });
    expect(await judgeAnswers(a, "Transfers take a day.", { ...base, method: "embedding" })).toMatchObject({ agreed: false });
  });

  it("llm judge: asks the judge model, prices its call, reads YES/NO", async () => {
    const judgeModel = requireModel(catalog, "gpt-4o-mini");
    const cost = costOf(judgeModel, usage).totalNanoUsd;
    expect(await judgeAnswers("a", "b", { ...base, method: "llm", judgeModel, chat: judgeChat("YES") })).toEqual({ agreement: 1, agreed: true, costNanoUsd: cost, error: null });
    expect(await judgeAnswers("a", "b", { ...base, method: "llm", judgeModel, chat: judgeChat("no.") })).toEqual({ agreement: 0, agreed: false, costNanoUsd: cost, error: null });
    expect(await judgeAnswers("a", "b", { ...base, method: "llm", judgeModel, chat: judgeChat("Regarding your request…") })).toEqual({ agreement: null, agreed: null, costNanoUsd: cost, error: "judge gpt-4o-mini gave no YES/NO verdict" });
  });

  it("parseVerdict reads the first word only", () => {
    expect(parseVerdict("**Yes** they agree")).toBe(true);
    expect(parseVerdict("NO")).toBe(false);
    expect(parseVerdict("Maybe yes")).toBeNull();
  });
});
