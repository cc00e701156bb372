import { describe, expect, it } from "vitest";
import { bagOfWordsEmbedder } from "@costwise/embeddings/testing";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { embeddingAgreement, exactAgreement, judgeAnswers, pairwisePreference, parsePreference, structuredAgreement, type ChatPort } from "./judge.ts";

const usage = { inputTokens: 300, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 1 };
const judgeModel = requireModel(catalog, "gpt-4o-mini");
const callCost = costOf(judgeModel, usage).totalNanoUsd;

/** A judge model that answers by which text it reads as answer A (the position-bias test needs both orders). */
function judgeChat(verdict: (a: string, b: string) => string): ChatPort & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    chat: async (r) => {
      const user = r.messages.at(-1)!.content;
      const a = /<answer_a>\n([\s\S]*?)\n<\/answer_a>/.exec(user)![1]!;
      const b = /<answer_b>\n([\s\S]*?)\n<\/answer_b>/.exec(user)![1]!;
      calls.push(`${a}|${b}`);
      return { content: verdict(a, b), model: r.model, usage };
    },
  };
}
const base = { similarity: 0.6, judgeModel, catalog, request: "q", requestId: "r", chat: judgeChat(() => "") };

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

  it("embedding: cosine of the embedder's vectors, its cost summed; identical texts need no model run", async () => {
    const embedder = bagOfWordsEmbedder({ costNanoUsd: 7 });
    const a = "Your new card will arrive within five working days.";
    expect(await embeddingAgreement(embedder, a, ` ${a} `)).toEqual({ similarity: 1, costNanoUsd: 0 });
    expect(embedder.calls).toHaveLength(0);
    const near = await embeddingAgreement(embedder, a, "Your new card should arrive within five working days.");
    const far = await embeddingAgreement(embedder, a, "Transfers to other banks take one day.");
    expect(near.similarity).toBeGreaterThan(far.similarity);
    expect(near.costNanoUsd).toBe(14);
  });

  it("embedding judge: applies the threshold, and is undecided without an embedder", async () => {
    const embedder = bagOfWordsEmbedder();
    const a = "Your new card will arrive within five working days.";
    expect(await judgeAnswers(a, "Your new card will arrive within five days.", { ...base, method: "embedding", embedder })).toMatchObject({ agreed: true, costNanoUsd: 0 });
    expect(await judgeAnswers(a, "Transfers take a day.", { ...base, method: "embedding", embedder })).toMatchObject({ agreed: false });
    expect(await judgeAnswers(a, "x", { ...base, method: "embedding" })).toEqual({ agreement: null, agreed: null, costNanoUsd: 0, error: "no sentence embedder for the embedding judge" });
  });
});

describe("pairwise LLM judge", () => {
  it("asks in both orders, maps the swapped verdict back and prices both calls", async () => {
    const chat = judgeChat((a) => (a === "good" ? "A" : "B"));
    const r = await pairwisePreference("q", "bad", "good", { chat, model: judgeModel, catalog });
    expect(chat.calls.sort()).toEqual(["bad|good", "good|bad"]);
    expect(r).toEqual({ winner: "second", verdicts: ["B", "A"], costNanoUsd: 2 * callCost });
  });

  it("a judge that always prefers the first answer it reads decides nothing: a tie", async () => {
    const r = await pairwisePreference("q", "x", "y", { chat: judgeChat(() => "A"), model: judgeModel, catalog });
    expect(r.winner).toBe("tie");
  });

  it("an unreadable verdict in either order leaves the comparison undecided, still charged", async () => {
    const chat = judgeChat((a) => (a === "x" ? "A" : "Regarding your request…"));
    expect(await pairwisePreference("q", "x", "y", { chat, model: judgeModel, catalog })).toMatchObject({ winner: null, costNanoUsd: 2 * callCost });
  });

  it("judgeAnswers: the cheap answer agrees unless the frontier answer wins both orders", async () => {
    const o = { ...base, method: "llm" as const };
    const frontierWins = judgeChat((a) => (a === "frontier" ? "A" : "B"));
    expect(await judgeAnswers("cheap", "frontier", { ...o, chat: frontierWins })).toEqual({ agreement: 0, agreed: false, costNanoUsd: 2 * callCost, error: null, preference: "frontier" });
    const cheapWins = judgeChat((a) => (a === "cheap" ? "**A**" : "b."));
    expect(await judgeAnswers("cheap", "frontier", { ...o, chat: cheapWins })).toMatchObject({ agreed: true, preference: "cheap" });
    expect(await judgeAnswers("cheap", "frontier", { ...o, chat: judgeChat(() => "TIE") })).toMatchObject({ agreed: true, preference: "tie" });
    expect(await judgeAnswers("cheap", "frontier", { ...o, chat: judgeChat(() => "?") })).toMatchObject({ agreement: null, agreed: null, error: "judge gpt-4o-mini gave no A/B/TIE verdict" });
  });

  it("parsePreference reads the first word only", () => {
    expect(parsePreference("**A** is better")).toBe("a");
    expect(parsePreference("Answer B")).toBe("b");
    expect(parsePreference("tie")).toBe("tie");
    expect(parsePreference("Both are fine, A")).toBeNull();
    expect(parsePreference("Absolutely")).toBeNull();
  });
});
