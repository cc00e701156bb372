import { writeFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { SingleBar, Presets } from "cli-progress";
import Table from "cli-table3";
import { catalog } from "@costwise/pricing";
import { countTextTokens } from "@costwise/providers";
import { DEFAULT_POLICY_FILE } from "../../src/config.ts";
import { loadPolicyFile } from "../../src/policy.ts";
import { httpExternalCompressor } from "../../src/strategies/external.ts";
import { readQaJsonl } from "../../src/dataset.ts";
import { evaluate } from "./evaluate.ts";
import { evalConfigs, markdownTable } from "./report.ts";

const ratios = (v: string): number[] => {
  const xs = v.split(",").map((x) => Number(x.trim()));
  if (xs.some((x) => !(x > 0 && x <= 1))) throw new InvalidArgumentError("budgets are target ratios in (0, 1], comma-separated");
  return xs;
};
const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
};

const program = new Command()
  .name("eval:compression")
  .description("Compression ratio, answer retention and latency of each strategy and budget over a QA dataset with gold answers")
  .requiredOption("--data <jsonl>", "rows with question, answers, passages (../shared/data/compress_*/dev.jsonl)")
  .option("--budgets <ratios>", "target ratios of context tokens to keep", ratios, [0.2, 0.3, 0.4, 0.5])
  .option("--policy <file>", "also evaluate the use cases of this policy file as configured", DEFAULT_POLICY_FILE)
  .option("--model <model>", "tokenizer of this model for the token figures", "gpt-4o")
  .option("--floor <tokens>", "floor_tokens of the generated configurations", positive, 30)
  .option("--limit <n>", "only the first n rows", positive)
  .option("--external-url <url>", "also evaluate an LLMLingua-2 style endpoint after extractive")
  .option("--markdown <file>", "write the table as Markdown too")
  .parse();

const opts = program.opts<{ data: string; budgets: number[]; policy: string; model: string; floor: number; limit?: number; externalUrl?: string; markdown?: string }>();
const all = readQaJsonl(opts.data);
const rows = opts.limit ? all.slice(0, opts.limit) : all;
const configs = evalConfigs({ budgets: opts.budgets, floor: opts.floor, policy: loadPolicyFile(opts.policy), external: opts.externalUrl !== undefined });

const bar = new SingleBar({ format: "{bar} {percentage}% | {value}/{total} compressions | {eta}s left", stream: process.stderr, hideCursor: true }, Presets.shades_classic);
bar.start(rows.length * configs.length, 0);
const results = await evaluate(rows, configs, {
  countTokens: (t) => countTextTokens(t, opts.model),
  deps: { catalog, now: Date.now, ...(opts.externalUrl ? { external: httpExternalCompressor({ url: opts.externalUrl, timeoutMs: 10_000 }) } : {}) },
  onStep: () => bar.increment(),
});
bar.stop();

// Colours only for a terminal: piped output (docs, CI logs) stays plain.
const style = process.stdout.isTTY ? {} : { style: { head: [], border: [] } };
const table = new Table({ ...style, head: ["strategy", "budget", "examples", "ctx tokens before", "after", "reduction", "answer retention", "p50 ms", "p99 ms"] });
for (const r of results) {
  table.push([r.strategy, r.budget, r.examples, r.tokensBefore, r.tokensAfter, `${(r.reduction * 100).toFixed(1)}%`, `${(r.retention * 100).toFixed(1)}%`, r.p50Ms.toFixed(2), r.p99Ms.toFixed(2)]);
}
process.stdout.write(`${opts.data} (${rows.length} examples, ${opts.model} tokenizer)\n${table.toString()}\n`);
const best = results.filter((r) => r.reduction >= 0.5 && r.retention >= 0.95).sort((a, b) => b.reduction - a.reduction)[0];
process.stdout.write(best
  ? `target ≥50% fewer context tokens with ≥95% answer retention: met, best ${best.strategy} @ ${best.budget} (${(best.reduction * 100).toFixed(1)}% fewer, ${(best.retention * 100).toFixed(1)}% retained)\n`
  : "target ≥50% fewer context tokens with ≥95% answer retention: not met by any configuration\n");
if (opts.markdown) writeFileSync(opts.markdown, markdownTable(results));
