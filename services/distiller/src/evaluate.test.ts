import { describe, expect, it } from "vitest";
import { catalog, findModel } from "@costwise/pricing";
import { advise } from "./advise.ts";
import { promptHash } from "./capture.ts";
import { bootstrapInterval, parseReplay, scoreModel, verdictOf, type EvalItem } from "./evaluate.ts";
import { policyOf } from "./testing/fixtures.ts";
import type { VolumeRow } from "./status.ts";

const policy = policyOf({
  version: 1,
  useCases: { faq: { candidate: "ft:gpt-4o-mini-2024-07-18:acme:faq:x1", shadow: { scorer: "exact", sampleRate: 0.05 }, readiness: { minSamples: 8, minAgreementLower: 0.6 }, enabled: true } },
} as never);
const uc = policy.useCases.get("faq")!;
const item = (i: number): EvalItem => ({
  requestId: `r${i}`, tenant: "acme", ts: 1_700_000_000_000, messages: [{ role: "user", content: `question ${i}` }], frontierAnswer: `answer ${i}`, frontierModel: "gpt-4o",
  frontierInputTokens: 10, frontierOutputTokens: 3, promptHash: `h${i}`,
});

describe("distill evaluate", () => {
  it("scores the candidate against the frontier answers with Wilson and bootstrap intervals, and judges the target", async () => {
    const items = Array.from({ length: 10 }, (_, i) => item(i));
    // The candidate agrees on the even questions; the provider refuses question 9.
    const chat = {
      chat: async (r: { model: string; messages: readonly { content: string }[] }) => {
        const i = Number(r.messages[0]!.content.split(" ")[1]);
        if (i === 9) throw Object.assign(new (await import("@costwise/stream-runtime")).PoisonMessageError("refused"), {});
        return { content: i % 2 === 0 ? `answer ${i}` : "something else", model: r.model, usage: { inputTokens: 10, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 3 } };
      },
    };
    const { score, rows } = await scoreModel(items, uc, uc.candidate!, { chat, catalog, embedder: null, now: () => 1_700_000_001_000, concurrency: 3 });
    expect(score).toMatchObject({ model: uc.candidate!.id, compared: 9, refused: 1, decided: 9, agreed: 5 });
    expect(score.wilson!.lower).toBeCloseTo(0.2667, 3);
    expect(score.bootstrap!.lower).toBeLessThan(5 / 9);
    expect(score.bootstrap!.upper).toBeGreaterThan(5 / 9);
    // Priced at the fine-tuned rates: 10 × $0.30/M + 3 × $1.20/M = 6.6 µ$ per call.
    expect(rows[0]).toMatchObject({ candidate_model: uc.candidate!.id, candidate_cost_nanousd: 6_600, scorer: "exact", tenant: "acme", use_case: "faq" });
    expect(verdictOf(score, uc)).toEqual({ meets: false, reason: expect.stringMatching(/^agreement lower bound 0\.26\d < 0\.6$/) });
    expect(verdictOf({ ...score, decided: 9, agreed: 9, wilson: { lower: 0.7, upper: 1 } }, uc).meets).toBe(true);
  });

  it("reads a replay file of chat lines ending with the frontier answer, and refuses malformed ones", () => {
    const text = `${JSON.stringify({ messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }] })}\n\n${JSON.stringify({ request_id: "x", messages: [{ role: "system", content: "s" }, { role: "user", content: "q" }, { role: "assistant", content: "a" }] })}\n`;
    const items = parseReplay(text, "r.jsonl", { tenant: "acme", now: 5, hash: promptHash });
    expect(items.map((i) => [i.requestId.startsWith("replay-") || i.requestId, i.frontierAnswer, i.messages.length])).toEqual([[true, "hello", 1], ["x", "a", 2]]);
    expect(() => parseReplay('{"messages":[{"role":"user","content":"q"}]}\n', "r.jsonl", { tenant: "t", now: 0, hash: promptHash })).toThrow("r.jsonl:1: expected");
    expect(() => parseReplay('{"messages":[{"role":"user","content":"q"},{"role":"user","content":"q"}]}', "r.jsonl", { tenant: "t", now: 0, hash: promptHash })).toThrow("the last message must be the frontier model's (assistant) answer");
    expect(() => parseReplay("nope", "r.jsonl", { tenant: "t", now: 0, hash: promptHash })).toThrow("r.jsonl:1: not valid JSON");
  });

  it("bootstrap interval is seeded and brackets the mean", () => {
    const xs = Array.from({ length: 200 }, (_, i) => (i % 10 < 9 ? 1 : 0)) as (0 | 1)[];
    const a = bootstrapInterval(xs)!;
    expect(a).toEqual(bootstrapInterval(xs));
    expect(a.lower).toBeLessThan(0.9);
    expect(a.upper).toBeGreaterThan(0.9);
    expect(bootstrapInterval([])).toBeNull();
  });
});

describe("distill advise", () => {
  const volumes = (calls: number): VolumeRow[] => [{ tenant: "acme", use_case: "faq", model_used: "gpt-4o", served_by: "REALTIME", calls_n: String(calls), input_sum: String(calls * 1_000), cached_input_sum: "0", output_sum: String(calls * 200) }];
  const candidate = findModel(catalog, "ft:gpt-4o-mini-2024-07-18:acme:faq:x1")!;

  it("break-even volume = training cost / net saving per call, net of the frontier shadow watch", () => {
    // Per call: gpt-4o 1000 × $2.50/M + 200 × $10/M = $0.0045; ft 4o-mini 1000 × $0.30/M + 200 × $1.20/M = $0.00054.
    // Shadow watch 5% × $0.0045 = $0.000225 → net $0.003735 per call. 10,000 calls in 30 days.
    const a = advise({ uc, candidate, candidateSource: "trained", volumes: volumes(10_000), outputRatio: 1, windowSeconds: 30 * 86_400, training: { costNanoUsd: 7_470_000_000, source: "job" }, catalog });
    expect(a.monthlyCostNanoUsd).toBe(45_000_000_000);
    expect(a.monthlyCandidateCostNanoUsd).toBe(5_400_000_000);
    expect(a.monthlyShadowOverheadNanoUsd).toBe(2_250_000_000);
    expect(a.monthlyNetSavingNanoUsd).toBe(37_350_000_000);
    expect(a.breakEvenCalls).toBe(2_000);
    expect(a.breakEvenMonths).toBeCloseTo(0.2, 6);
    expect(a.reference.band).toBe("below");
    expect(a.verdict).toBe("pays back its training within 6.0 days at the measured volume");
  });

  it("never breaks even when the candidate is not cheaper, and says so without traffic", () => {
    const dear = findModel(catalog, "gpt-4o")!;
    expect(advise({ uc, candidate: dear, candidateSource: "policy", volumes: volumes(1_000), outputRatio: 1, windowSeconds: 86_400, training: { costNanoUsd: 1, source: "estimate" }, catalog })).toMatchObject({ breakEvenCalls: null, breakEvenMonths: null });
    expect(advise({ uc, candidate, candidateSource: "planned", volumes: [], outputRatio: 1, windowSeconds: 86_400, training: null, catalog }).verdict).toBe("no measured traffic in the window");
  });
});
