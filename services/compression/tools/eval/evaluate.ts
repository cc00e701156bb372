import { performance } from "node:perf_hooks";
import type { ContextChunk } from "@costwise/schemas";
import { silentLogger } from "@costwise/stream-runtime";
import { createCompressor } from "../../src/compressor.ts";
import { useCasePolicySchema, type UseCasePolicy } from "../../src/policy.ts";
import { createStrategy, type StrategyDeps } from "../../src/strategies/index.ts";
import type { QaRow } from "../../src/dataset.ts";

/** One line of the evaluation table: a strategy chain at a budget. */
export interface EvalConfig {
  readonly strategy: string;
  readonly budget: string;
  readonly policy: UseCasePolicy;
  /** Hide the question from the strategies: a query-blind baseline (extractive then keeps the lead sentences). */
  readonly queryBlind?: boolean;
}

export interface EvalResult {
  readonly strategy: string;
  readonly budget: string;
  readonly examples: number;
  readonly tokensBefore: number;
  readonly tokensAfter: number;
  /** 1 − Σafter / Σbefore: the share of context tokens removed. */
  readonly reduction: number;
  /** Share of examples where a gold answer string is still in the context (of those where it was before). */
  readonly retention: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export const normaliseForMatch = (s: string): string => s.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();

/** A gold answer survives when it still appears in the context text (case and spacing ignored). */
export function answerRetained(chunks: readonly ContextChunk[], answers: readonly string[]): boolean {
  const text = normaliseForMatch(chunks.map((c) => c.text).join("\n"));
  return answers.some((a) => normaliseForMatch(a) !== "" && text.includes(normaliseForMatch(a)));
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** The context of an example as a RAG request would carry it: one chunk per passage, in order. */
export const chunksOf = (row: QaRow): ContextChunk[] => row.passages.map((p, k) => ({ id: `p${k}`, text: p.text, score: 1 - k / row.passages.length }));

export const policyOf = (raw: unknown): UseCasePolicy => useCasePolicySchema.parse(raw);

/**
 * Run every configuration over every example through the real compressor (the same code the
 * service runs), measuring tokens before/after with `countTokens`, answer retention and the
 * wall time of each compression.
 */
export async function evaluate(rows: readonly QaRow[], configs: readonly EvalConfig[], opts: { countTokens: (text: string) => number; deps: StrategyDeps; onStep?: () => void }): Promise<EvalResult[]> {
  const results: EvalResult[] = [];
  for (const cfg of configs) {
    const compress = createCompressor({ version: 1, default: cfg.policy, use_cases: {} }, (_u, p) => p.strategies.map((s) => createStrategy(s, opts.deps)));
    let before = 0;
    let after = 0;
    let answerable = 0;
    let retained = 0;
    const ms: number[] = [];
    for (const row of rows) {
      const chunks = chunksOf(row);
      const t0 = performance.now();
      const out = await compress({ chunks, question: cfg.queryBlind ? "" : row.question, useCase: "eval", requestId: row.id, countTokens: opts.countTokens, logger: silentLogger });
      ms.push(performance.now() - t0);
      before += out.info?.context_tokens_before ?? 0;
      after += out.info?.context_tokens_after ?? 0;
      if (answerRetained(chunks, row.answers)) {
        answerable++;
        if (answerRetained(out.chunks, row.answers)) retained++;
      }
      opts.onStep?.();
    }
    ms.sort((a, b) => a - b);
    results.push({
      strategy: cfg.strategy,
      budget: cfg.budget,
      examples: rows.length,
      tokensBefore: before,
      tokensAfter: after,
      reduction: before === 0 ? 0 : 1 - after / before,
      retention: answerable === 0 ? 0 : retained / answerable,
      p50Ms: percentile(ms, 50),
      p99Ms: percentile(ms, 99),
    });
  }
  return results;
}
