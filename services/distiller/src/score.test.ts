import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { bagOfWordsEmbedder } from "@costwise/embeddings/testing";
import type { ChatPort } from "@costwise/judging";
import type { UseCaseDistillPolicy } from "./policy.ts";
import { scoreAnswers } from "./score.ts";

const chat: ChatPort = { chat: async () => { throw new Error("no chat call expected"); } };
const useCase = (scorer: "embedding" | "semantic") => ({ shadow: { sampleRate: 1, scorer, similarity: 0.6, judgeModel: null } }) as unknown as UseCaseDistillPolicy;

describe("scoreAnswers", () => {
  it("scores 'embedding' with the sentence embedder it is given, and charges what the embedder cost", async () => {
    const embedder = bagOfWordsEmbedder({ costNanoUsd: 4 });
    const agree = await scoreAnswers("your card arrives on tuesday", "Your card arrives on Tuesday next week", useCase("embedding"), "when?", "r1", { chat, catalog, embedder });
    expect(agree).toMatchObject({ agreed: true, error: null, costNanoUsd: 8 });
    const differ = await scoreAnswers("transfers take a day", "your card arrives on tuesday", useCase("embedding"), "when?", "r2", { chat, catalog, embedder });
    expect(differ.agreed).toBe(false);
    expect(embedder.calls).toHaveLength(2);
  });

  it("scores 'semantic' as the same embedding judge, and is undecided without an embedder", async () => {
    const embedder = bagOfWordsEmbedder();
    expect((await scoreAnswers("a b c", "a b c d", useCase("semantic"), "q", "r3", { chat, catalog, embedder })).agreed).toBe(true);
    expect(await scoreAnswers("a b c", "x y z", useCase("embedding"), "q", "r4", { chat, catalog, embedder: null })).toMatchObject({ agreed: null, error: "no sentence embedder for the embedding judge" });
  });
});
