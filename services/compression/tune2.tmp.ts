import { countTextTokens } from "@costwise/providers";
import { catalog } from "@costwise/pricing";
import { readQaJsonl } from "./src/eval/dataset.ts";
import { evaluate, policyOf } from "./src/eval/evaluate.ts";
const rows = readQaJsonl(process.argv[2]!);
const count = (t: string) => countTextTokens(t, "gpt-4o");
const configs = [] as any[];
for (const ratio of [0.1, 0.15, 0.2, 0.25]) for (const [cw,nw] of [[0,0],[0.5,0.25],[1,0.25],[0.5,0.5]])
  configs.push({ strategy: `ext cw${cw} nw${nw}`, budget: String(ratio), policy: policyOf({ floor_tokens: 30, budget: { target_ratio: ratio }, strategies: [{ name: "extractive", chunk_weight: cw, neighbour_weight: nw }] }) });
for (const ratio of [0.2, 0.3, 0.4]) configs.push({ strategy: `t2+ext`, budget: String(ratio), policy: policyOf({ floor_tokens: 30, budget: { target_ratio: ratio }, strategies: [{ name: "tighten", rank_by: "query", top_k: 2 }, { name: "extractive" }] }) });
const res = await evaluate(rows, configs, { countTokens: count, deps: { catalog, now: Date.now } });
for (const r of res) console.log(r.strategy.padEnd(24), r.budget.padEnd(5), (r.reduction*100).toFixed(1), (r.retention*100).toFixed(1), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2));
