import type { CompressionPolicy } from "../../src/policy.ts";
import { policyOf, type EvalConfig, type EvalResult } from "./evaluate.ts";

/**
 * The evaluation grid: the untouched context, a query-blind lead baseline and query-aware
 * extractive at each budget, tightening alone and before extractive, and every use case of the
 * policy file as configured (those that need a model — summarise — are left out: the offline
 * evaluation calls no LLM).
 */
export function evalConfigs(o: { budgets: readonly number[]; floor: number; policy: CompressionPolicy; external: boolean }): EvalConfig[] {
  const out: EvalConfig[] = [{ strategy: "none", budget: "-", policy: policyOf({ floor_tokens: o.floor }) }];
  for (const k of [1, 2, 3]) out.push({ strategy: `tighten (query top-${k})`, budget: "-", policy: policyOf({ floor_tokens: o.floor, strategies: [{ name: "tighten", rank_by: "query", top_k: k }] }) });
  for (const r of o.budgets) {
    const budget = { target_ratio: r };
    const b = `${Math.round(r * 100)}%`;
    out.push({ strategy: "lead sentences (query-blind)", budget: b, queryBlind: true, policy: policyOf({ floor_tokens: o.floor, budget, strategies: [{ name: "extractive", chunk_weight: 0, neighbour_weight: 0 }] }) });
    out.push({ strategy: "extractive (BM25)", budget: b, policy: policyOf({ floor_tokens: o.floor, budget, strategies: [{ name: "extractive" }] }) });
    out.push({ strategy: "tighten top-3 + extractive", budget: b, policy: policyOf({ floor_tokens: o.floor, budget, strategies: [{ name: "tighten", rank_by: "query", top_k: 3 }, { name: "extractive" }] }) });
    if (o.external) out.push({ strategy: "extractive + external", budget: b, policy: policyOf({ floor_tokens: o.floor, budget, strategies: [{ name: "extractive" }, { name: "external" }] }) });
  }
  for (const [name, p] of Object.entries(o.policy.use_cases)) {
    if (p.strategies.length === 0 || p.strategies.some((s) => s.name === "summarise" || s.name === "external")) continue;
    const b = [p.budget.target_ratio !== undefined ? `${Math.round(p.budget.target_ratio * 100)}%` : null, p.budget.max_context_tokens !== undefined ? `≤${p.budget.max_context_tokens}` : null].filter(Boolean).join(", ");
    out.push({ strategy: `policy ${name} (${p.strategies.map((s) => s.name).join(" + ")})`, budget: b || "-", policy: p });
  }
  return out;
}

export function markdownTable(results: readonly EvalResult[]): string {
  const lines = [
    "| strategy | budget | examples | context tokens before | after | reduction | answer retention | p50 ms | p99 ms |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map((r) => `| ${r.strategy} | ${r.budget} | ${r.examples} | ${r.tokensBefore} | ${r.tokensAfter} | ${(r.reduction * 100).toFixed(1)}% | ${(r.retention * 100).toFixed(1)}% | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} |`),
  ];
  return `${lines.join("\n")}\n`;
}
