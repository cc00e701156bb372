import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { countTextTokens } from "@costwise/providers";
import { silentLogger } from "@costwise/stream-runtime";
import { createCompressor } from "./compressor.ts";
import { parsePolicy, type UseCasePolicy } from "./policy.ts";
import { xquadSample } from "./sample.ts";
import { createStrategy } from "./strategies/index.ts";
import { chunk, idsInOrder, isSentenceSubsequence } from "./strategies/test-support.ts";
import type { Strategy } from "./strategies/types.ts";
import { tokenMeter } from "./tokens.ts";

const count = (t: string) => countTextTokens(t, "gpt-4o");
const real = (p: UseCasePolicy) => p.strategies.map((s) => createStrategy(s, { catalog, now: Date.now }));
const input = (chunks: ReturnType<typeof chunk>[], useCase = "kb", question = "What is the fee?") =>
  ({ chunks, question, useCase, requestId: "r1", countTokens: count, logger: silentLogger });

const rows = xquadSample();
const article = rows[0]!.passages.map((p, k) => chunk(`p${k}`, p.text, 1 - k / 10));

describe("the strategy chain", () => {
  const policy = parsePolicy({
    version: 1,
    use_cases: { kb: { floor_tokens: 80, budget: { target_ratio: 0.4 }, strategies: [{ name: "boilerplate", learn: false }, { name: "tighten", rank_by: "query", top_k: 4 }, { name: "extractive" }] } },
  });
  const compress = createCompressor(policy, (_u, p) => real(p));

  it("records tokens before, after, and after each strategy, naming those that removed tokens", async () => {
    const row = rows[0]!;
    const out = await compress(input(article, "kb", row.question));
    const before = tokenMeter(count).context(article);
    expect(out.info).toMatchObject({ context_tokens_before: before, context_tokens_after: tokenMeter(count).context(out.chunks) });
    expect(Object.keys(out.info!.per_strategy_tokens)).toEqual(["boilerplate", "tighten", "extractive"]);
    expect(out.info!.per_strategy_tokens.extractive).toBe(out.info!.context_tokens_after);
    expect(out.info!.per_strategy_tokens.tighten).toBeLessThan(before);
    expect(out.info!.strategy).toBe("tighten+extractive");
    expect(out.info!.context_tokens_after).toBeLessThanOrEqual(Math.floor(before * 0.4));
    expect(out.overheadNanoUsd).toBe(0);
  });

  it("on every sample question keeps ids and order, cuts no sentence, respects budget and floor", async () => {
    for (const row of rows) {
      const chunks = row.passages.map((p, k) => chunk(`p${k}`, p.text));
      const out = await compress(input(chunks, "kb", row.question));
      const info = out.info!;
      expect(idsInOrder(chunks, out.chunks)).toBe(true);
      for (const c of out.chunks) expect(isSentenceSubsequence(chunks.find((x) => x.id === c.id)!.text, c.text)).toBe(true);
      expect(info.context_tokens_after).toBeLessThanOrEqual(Math.max(80, Math.floor(info.context_tokens_before * 0.4)));
      expect(info.context_tokens_after).toBeGreaterThanOrEqual(80);
    }
  });

  it("leaves a context at or under the floor alone", async () => {
    const small = [chunk("a", "The fee is 3 euros.")];
    const out = await compress(input(small));
    expect(out.chunks).toEqual(small);
    expect(out.info).toEqual({ strategy: "none", context_tokens_before: out.info!.context_tokens_before, context_tokens_after: out.info!.context_tokens_before, per_strategy_tokens: {} });
  });

  it("returns no compression info for an empty context", async () => {
    expect(await compress(input([]))).toEqual({ chunks: [], info: null, overheadNanoUsd: 0, refused: [] });
  });

  it("passes unlisted use cases through with the default policy", async () => {
    const out = await compress(input(article, "other"));
    expect(out.chunks).toEqual(article);
    expect(out.info).toMatchObject({ strategy: "none", per_strategy_tokens: {} });
    expect(out.info!.context_tokens_after).toBe(out.info!.context_tokens_before);
  });

  it("refuses a strategy that grows the context or goes under the floor, but counts what it spent", async () => {
    const grow: Strategy = { name: "summarise", run: ({ chunks }) => ({ chunks: chunks.map((c) => ({ ...c, text: `${c.text} ${c.text}` })), overheadNanoUsd: 1_234 }) };
    const wipe: Strategy = { name: "external", run: () => ({ chunks: [chunk("p0", "Tiny.")] }) };
    const p = parsePolicy({ version: 1, default: { floor_tokens: 50, budget: { target_ratio: 0.5 } } });
    const c = createCompressor(p, () => [grow, wipe]);
    const out = await c(input(article, "any"));
    expect(out.chunks).toEqual(article);
    expect(out.refused).toEqual(["summarise", "external"]);
    expect(out.overheadNanoUsd).toBe(1_234);
    expect(out.info!.strategy).toBe("none");
  });

  it("caps the budget by the room left in the model's window", async () => {
    const out = await compress({ ...input(article, "kb", rows[0]!.question), roomTokens: 150 });
    expect(out.info!.context_tokens_after).toBeLessThanOrEqual(150);
  });
});
