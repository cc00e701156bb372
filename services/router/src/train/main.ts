/**
 * `npm run train:router -- --data <dev.jsonl...> [--out services/router/models/router-classifier-v1.json]`
 *
 * Trains the classifier router (logistic regression over hashed words + dense signals) on router
 * dev sets and writes the versioned model file the policy points at. Dev files only: the held-out
 * groups are for independent evaluation.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import cliProgress from "cli-progress";
import { trainClassifier, type TrainingExample } from "../classifier.ts";
import { loadEvalSet, strongWins } from "../eval/dataset.ts";

const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("not a number");
  return n;
};

const program = new Command("train:router")
  .description("Train the router classifier on router dev sets (../shared/data/router_*/dev.jsonl)")
  .requiredOption("--data <files...>", "router dev jsonl files")
  .option("--out <file>", "model file to write", "services/router/models/router-classifier-v1.json")
  .option("--model-version <name>", "version recorded in the model file", "router-classifier-v1")
  .option("--strong <model>", "strong model for files that name no pair")
  .option("--weak <model>", "weak model for files that name no pair")
  .option("--drop-contaminated", "leave out rows RouteLLM flags as contaminated", false)
  .option("--hash-bits <n>", "hashed feature space is 2^n", num, 12)
  .option("--l2 <x>", "L2 penalty", num, 1e-3)
  .option("--iterations <n>", "full-batch Adam iterations", num, 300)
  .showHelpAfterError();

const opts = program.parse().opts<{ data: string[]; out: string; modelVersion: string; strong?: string; weak?: string; dropContaminated: boolean; hashBits: number; l2: number; iterations: number }>();

const examples: TrainingExample[] = [];
const files: { file: string; sha256: string; rows: number; pair: string }[] = [];
for (const file of opts.data) {
  const set = loadEvalSet(file, { ...(opts.strong ? { strong: opts.strong } : {}), ...(opts.weak ? { weak: opts.weak } : {}), dropContaminated: opts.dropContaminated });
  for (const r of set.rows) examples.push({ input: r.input, label: strongWins(r) });
  files.push({ file: `${path.basename(path.dirname(file))}/${path.basename(file)}`, sha256: createHash("sha256").update(readFileSync(file)).digest("hex"), rows: set.rows.length, pair: `${set.strongModel} > ${set.weakModel}` });
  process.stdout.write(`  ${set.name}: ${set.rows.length} rows, strong better on ${set.rows.filter((r) => strongWins(r)).length}\n`);
}

const bar = new cliProgress.SingleBar({ format: "  training |{bar}| {value}/{total} iterations  loss {loss}", hideCursor: true }, cliProgress.Presets.shades_classic);
bar.start(opts.iterations, 0, { loss: "-" });
const started = Date.now();
const model = trainClassifier(examples, {
  hashBits: opts.hashBits, l2: opts.l2, iterations: opts.iterations, version: opts.modelVersion,
  training: { label: "1 when the strong model scored higher than the weak one", files, positives: examples.filter((e) => e.label === 1).length, dropContaminated: opts.dropContaminated },
  onIteration: (i, loss) => bar.update(i, { loss: loss.toFixed(4) }),
});
bar.stop();
writeFileSync(opts.out, `${JSON.stringify(model)}\n`);
process.stdout.write(`wrote ${opts.out} (${examples.length} rows, ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
