import { describe, expect, it } from "vitest";
import { bagOfWordsEmbedder } from "@costwise/embeddings/testing";
import { useCasePolicySchema } from "../../src/policy.ts";
import { embedQueries, evaluatePass, inSplit, labelVerifier, shuffled, splitOf, summarize, summaryLine, type CacheRow } from "./run.ts";

const row = (id: string, text: string, intent: string, over: Partial<CacheRow> = {}): CacheRow => ({ id, text, intent, is_oos: false, dataset: "toy", ...over });

describe("eval:cache summary line", () => {
  it("is one JSON object with the worst seed per dataset under the issue's key names", () => {
    const pass = (seed: number, semanticHits: number, wrongHits: number) => ({
      method: "δ=0.01", seed, queries: 200, exactHits: 0, semanticHits, wrongHits, explorations: 3, verifications: 50, finalThreshold: { agree: 0.9, differ: 1.01, single: 0.95 }, lookupMs: [1, 2, 3],
    });
    const s = summarize([pass(1, 100, 1), pass(2, 80, 0), pass(3, 90, 2)]);
    const line = summaryLine({ banking77: s });
    expect(line.includes("\n")).toBe(false);
    expect(JSON.parse(line)).toEqual({ files: { banking77: { queries: 200, hit_rate_min: 0.4, wrong_per_hit_max: 0.0222 } } });
  });
});

describe("eval:cache streaming", () => {
  it("splits by intent group, never a group across halves, and shuffles reproducibly", () => {
    const rows = Array.from({ length: 60 }, (_, i) => row(`r${i}`, `text ${i}`, `intent${i % 12}`));
    const tune = inSplit(rows, "tune");
    const report = inSplit(rows, "report");
    expect(tune.length + report.length).toBe(60);
    for (const r of tune) expect(report.some((x) => x.intent === r.intent)).toBe(false);
    expect(splitOf(row("x", "y", "intent3"))).toBe(splitOf(row("z", "w", "intent3")));
    expect(shuffled(rows, 1)).toEqual(shuffled(rows, 1));
    expect(shuffled(rows, 1)).not.toEqual(shuffled(rows, 2));
  });

  it("counts a hit on an out-of-scope query and a hit with another intent's answer as wrong, and judges with the labels", async () => {
    expect((await labelVerifier.verify({ query: "q", cachedAnswer: "a", freshAnswer: "a" })).equivalent).toBe(true);
    expect((await labelVerifier.verify({ query: "q", cachedAnswer: "oos:1", freshAnswer: "oos:1" })).equivalent).toBe(false);
    const rows = [row("1", "where is my card", "card_arrival"), row("2", "where is my card", "card_lost"), row("3", "where is my card please", "x", { is_oos: true })];
    const embedder = bagOfWordsEmbedder();
    const queries = await embedQueries(rows.map((r) => r.text), embedder, null);
    const fixed = { name: "fixed 0.5", policy: useCasePolicySchema.parse({ mode: "semantic", threshold: 0.5 }) };
    const r = await evaluatePass({ rows, method: fixed, seed: 1, embedder, queries });
    expect(r).toMatchObject({ queries: 3, exactHits: 1, semanticHits: 1, wrongHits: 2, explorations: 0, verifications: 0 });
    // The learned boundary serves nothing on three queries: no evidence yet, every neighbour is verified instead.
    const learned = { name: "δ=0.01", policy: useCasePolicySchema.parse({ mode: "semantic", max_wrong_rate: 0.01 }) };
    const l = await evaluatePass({ rows: rows.slice(1), method: learned, seed: 1, embedder, queries });
    expect(l).toMatchObject({ semanticHits: 0, wrongHits: 0, verifications: 1 });
  });
});
