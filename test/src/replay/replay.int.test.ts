import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { summaryJson } from "./render.ts";
import { runReplay } from "./run.ts";

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/replay");
const files = readdirSync(fixtures).filter((f) => f.endsWith(".jsonl")).map((f) => path.join(fixtures, f));

describe("npm run replay on the shipped samples (real pipeline)", () => {
  it("grades every request and its costs add up, per kind and in total", async () => {
    const result = await runReplay({ data: files, perFile: 4, seed: 5, concurrency: 4, log: () => undefined, settleMs: 120_000 });
    expect(files).toHaveLength(4);
    expect(result.graded).toHaveLength(16);
    const summary = JSON.parse(summaryJson(result.total, result.byKind)) as Record<string, unknown> & { by_kind: Record<string, Record<string, unknown>> };
    for (const key of ["requests", "naive_cost_usd", "cost_usd", "overhead_usd", "cost_cut", "naive_quality", "quality", "quality_ratio", "quality_ratio_ci95", "by_kind"]) {
      expect(summary, key).toHaveProperty(key);
    }
    expect(summary.requests).toBe(16);
    expect(Object.keys(summary.by_kind).sort()).toEqual(["cache_banking77", "compress_xquad_en", "router_routellm_gsm8k", "router_routellm_mtbench"]);
    expect((summary.quality_ratio_ci95 as number[]).length).toBe(2);
    const kinds = Object.values(result.byKind);
    expect(kinds.reduce((n, k) => n + k.requests, 0)).toBe(result.total.requests);
    for (const s of [result.total, ...kinds]) {
      const saved = s.saving_usd.cache + s.saving_usd.routing + s.saving_usd.compression + s.saving_usd.batch + s.saving_usd.prompt_cache;
      expect(saved).toBeCloseTo(s.naive_cost_usd - s.cost_usd - s.overhead_usd, 9);
      expect(s.naive_cost_usd).toBeGreaterThan(0);
    }
    expect(kinds.reduce((n, k) => n + k.naive_cost_usd, 0)).toBeCloseTo(result.total.naive_cost_usd, 9);
    // The naive deployment answers every shipped sample row from the caller's recorded outcome or the full context.
    expect(result.total.naive_quality).toBeGreaterThan(0.5);
    expect(result.byKind.compress_xquad_en!.context_tokens_removed).toBeGreaterThan(0);
    // Math answers are BATCH requests: answered through a provider batch, at its discount.
    const math = result.byKind.router_routellm_gsm8k!;
    expect(math.batched).toBe(math.requests);
    expect(math.saving_usd.batch).toBeGreaterThan(0);
    expect(result.byKind.cache_banking77!.batched).toBe(0);
    // Every response was an answer of the replay's own emulator.
    expect(result.emulator.answered).toBeGreaterThanOrEqual(16 - result.total.cache_hits);
  });
});
