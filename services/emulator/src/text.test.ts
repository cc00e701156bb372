import { describe, expect, it } from "vitest";
import { generateReply, MAX_REPLY_TOKENS, MIN_REPLY_TOKENS, naturalReplyTokens, replyHeading, streamDeltas } from "./text.ts";
import { Tokenizer } from "./tokens.ts";

const tokenizer = new Tokenizer({ maxCachedTokens: 100_000 });

describe("generateReply", () => {
  it("gives the same text for the same seed and different text for different seeds", () => {
    const a = generateReply({ seed: 42, question: "How do I cut costs?" }, tokenizer);
    const b = generateReply({ seed: 42, question: "How do I cut costs?" }, tokenizer);
    const c = generateReply({ seed: 43, question: "How do I cut costs?" }, tokenizer);
    expect(b).toEqual(a);
    expect(c.text).not.toBe(a.text);
  });

  it("opens by quoting the first words of the question", () => {
    const reply = generateReply({ seed: 7, question: "What is the cheapest way to serve embeddings at scale today?" }, tokenizer);
    expect(reply.text.startsWith("Regarding what is the cheapest way to serve embeddings…:")).toBe(true);
    expect(replyHeading("  ")).toBe("Regarding your request:");
    expect(replyHeading("Explain LLM caching.")).toBe("Regarding explain LLM caching:");
  });

  it("reports exactly the tokens of its text when not capped, within the natural length bounds", () => {
    const questions = ["Summarise the quarterly report", "What's 2+2?", "¿Qué tal? 😀 naïve café", "Explain: caching; batching — routing...", "", "x\n\ny"];
    for (const question of questions) {
      for (let seed = 1; seed <= 40; seed++) {
        const reply = generateReply({ seed, question }, tokenizer);
        expect(reply.finish).toBe("stop");
        expect(reply.outputTokens).toBe(tokenizer.count(reply.text));
        expect(reply.outputTokens).toBeGreaterThanOrEqual(Math.min(naturalReplyTokens(seed), MIN_REPLY_TOKENS));
        expect(reply.outputTokens).toBeLessThanOrEqual(MAX_REPLY_TOKENS + 40);
      }
    }
  });

  it("stops at max tokens with finish 'length' and bills exactly the cap", () => {
    const uncapped = generateReply({ seed: 99, question: "Tell me about batching" }, tokenizer);
    const capped = generateReply({ seed: 99, question: "Tell me about batching", maxTokens: 5 }, tokenizer);
    expect(uncapped.outputTokens).toBeGreaterThan(5);
    expect(capped.finish).toBe("length");
    expect(capped.outputTokens).toBe(5);
    expect(uncapped.text.startsWith(capped.text)).toBe(true);
    const roomy = generateReply({ seed: 99, question: "Tell me about batching", maxTokens: 10_000 }, tokenizer);
    expect(roomy).toEqual(uncapped);
  });

  it("honours stop sequences, cutting before the sequence", () => {
    const reply = generateReply({ seed: 5, question: "Cost question", stopSequences: [":"] }, tokenizer);
    expect(reply.text).toBe("Regarding cost question");
    expect(reply.finish).toBe("stop_sequence");
    expect(reply.stopSequence).toBe(":");
    expect(reply.outputTokens).toBe(tokenizer.count("Regarding cost question") + tokenizer.count(":"));
  });
});

describe("streamDeltas", () => {
  it("splits text into word deltas that concatenate back to the text", () => {
    const text = "Regarding caching:  Keep the stable part first.\n\nThen measure.";
    const deltas = streamDeltas(text);
    expect(deltas.join("")).toBe(text);
    expect(deltas.length).toBe(9);
  });
});

describe("model agreement", () => {
  it("gives every model the same reply seed on the agreed share of prompts, and model-specific ones elsewhere", async () => {
    const { agreedSeed } = await import("./hash.ts");
    const prompts = Array.from({ length: 2_000 }, (_, i) => [`system ${i % 3}`, `question number ${i}`]);
    expect(prompts.every((p) => agreedSeed(p, 0, 11) === 11)).toBe(true);
    const agreed = prompts.filter((p) => agreedSeed(p, 0.8, 11) === agreedSeed(p, 0.8, 22)).length / prompts.length;
    expect(agreed).toBeGreaterThan(0.75);
    expect(agreed).toBeLessThan(0.85);
    expect(prompts.every((p) => agreedSeed(p, 1, 11) !== 11 || agreedSeed(p, 1, 22) !== 22)).toBe(true);
  });
});
