import { countTextTokens } from "@costwise/providers";
import { catalog } from "@costwise/pricing";
import { readQaJsonl } from "./src/eval/dataset.ts";
import { evaluate, policyOf } from "./src/eval/evaluate.ts";
const rows = readQaJsonl(process.argv[2]!);
const count = (t: string) => countTextTokens(t, "gpt-4o");
const configs = [] as any[];
for (const ratio of [0.3, 0.4, 0.5]) for (const cw of [0, 0.5, 1]) for (const nw of [0, 0.25, 0.5])
  configs.push({ strategy: `ext cw${cw} nw${nw}`, budget: String(ratio), policy: policyOf({ floor_tokens: 50, budget: { target_ratio: ratio }, strategies: [{ name: "extractive", chunk_weight: cw, neighbour_weight: nw }] }) });
for (const k of [1,2,3]) configs.push({ strategy: `tighten q top${k}`, budget: "-", policy: policyOf({ floor_tokens: 50, strategies: [{ name: "tighten", rank_by: "query", top_k: k }] }) });
const res = await evaluate(rows, configs, { countTokens: count, deps: { catalog, now: Date.now } });
for (const r of res) console.log(r.strategy.padEnd(24), r.budget.padEnd(5), (r.reduction*100).toFixed(1), (r.retention*100).toFixed(1), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2));
