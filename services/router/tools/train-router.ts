/**
 * `npm run train:router -- --data <router_*.jsonl...> [--strong m --weak m] --out services/router/models/<name>.json`
 *
 * Trains the semantic router (logistic regression over the local sentence embedding + shape
 * features) on router files and writes a versioned model file that records the embedding model,
 * the files and row ids it was trained on, and an out-of-fold calibration table (quality kept at
 * each threshold, with a lower bound) from which policies derive thresholds for quality targets.
 * `--kind stacked` trains the same file with stacked scoring: the regression, the kNN vote of the
 * training rows (kept in the file) and prompt length, blended by rank with weights fitted by inner
 * grouped cross-validation (one training file). `--kind classifier` trains the older hashed-words
 * classifier instead.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { EMBEDDING_MODEL_NAMES, repoRoot } from "@costwise/infra";
import { ROUTER_EMBEDDING_MODEL } from "../src/config.ts";
import { trainClassifier } from "../src/classifier.ts";
import { strongWins } from "../src/eval/dataset.ts";
import { trainSemanticModel } from "../src/semantic/train.ts";
import { embedSets } from "./semantic-data.ts";
import { loadSets } from "./sets.ts";

const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("not a number");
  return n;
};

const program = new Command("train:router")
  .description("Train a router model on router files (../shared/data/router_*/dev.jsonl)")
  .requiredOption("--data <files...>", "router jsonl files")
  .option("--kind <kind>", "semantic | stacked | classifier", "semantic")
  .option("--knn-k <k>", "--kind stacked: neighbours that vote in the kNN base", num, 20)
  .option("--embedding <model>", `local sentence model (${EMBEDDING_MODEL_NAMES.join(", ")}); default the router's, which is the cache's`, ROUTER_EMBEDDING_MODEL)
  .option("--out <file>", "model file to write (default services/router/models/<version>.json)")
  .option("--model-version <name>", "version recorded in the model file", "router-semantic-v1")
  .option("--strong <model>", "strong model for files that name no pair")
  .option("--weak <model>", "weak model for files that name no pair")
  .option("--drop-contaminated", "leave out rows RouteLLM flags as contaminated", false)
  .option("--l2 <x>", "L2 penalty (default: by training size)", num)
  .option("--tie-weight <x>", "weight of rows where both models score the same", num, 0.1)
  .option("--folds <k>", "grouped folds for the calibration table", num, 5)
  .option("--ood <full,none>", "held-out similarity quantiles of the out-of-distribution guard (below full: strong; between: score raised)", (v: string) => {
    const [full, none] = v.split(",").map(Number);
    if (!(full! >= 0 && none! > full! && none! < 1)) throw new InvalidArgumentError("expected two quantiles full,none with 0 ≤ full < none < 1");
    return { full: full!, none: none! };
  }, { full: 0.01, none: 0.1 })
  .option("--no-ood", "no out-of-distribution guard")
  .option("--calibration-seeds <n>", "fold seeds pooled into the calibration table", num, 3)
  .showHelpAfterError();

interface Opts { data: string[]; kind: string; knnK: number; embedding: string; out?: string; modelVersion: string; strong?: string; weak?: string; dropContaminated: boolean; l2?: number; tieWeight: number; folds: number; calibrationSeeds: number; ood: { full: number; none: number } | false }

async function main(): Promise<void> {
  const o = program.parse().opts<Opts>();
  const sets = loadSets(o);
  for (const s of sets) process.stderr.write(`  ${s.name}: ${s.rows.length} rows, strong better on ${s.rows.filter((r) => strongWins(r)).length}\n`);
  const out = o.out ?? path.join(repoRoot, "services/router/models", `${o.modelVersion}.json`);
  if (o.kind === "classifier") {
    const model = trainClassifier(sets.flatMap((s) => s.rows.map((r) => ({ input: r.input, label: strongWins(r) }))), {
      version: o.modelVersion, ...(o.l2 !== undefined ? { l2: o.l2 } : {}),
      training: { files: sets.map((s) => ({ file: path.relative(repoRoot, s.file), sha256: createHash("sha256").update(readFileSync(s.file)).digest("hex"), rows: s.rows.length, pair: `${s.strongModel} > ${s.weakModel}` })) },
    });
    writeFileSync(out, `${JSON.stringify(model)}\n`);
  } else if (o.kind === "semantic" || o.kind === "stacked") {
    const { embedding, sets: embedded } = await embedSets(sets, { model: o.embedding });
    const started = Date.now();
    const model = trainSemanticModel(embedded, { version: o.modelVersion, embedding, tieWeight: o.tieWeight, folds: o.folds, calibrationSeeds: o.calibrationSeeds, ood: o.ood, repoRoot, ...(o.l2 !== undefined ? { l2: o.l2 } : {}), ...(o.kind === "stacked" ? { stacked: { knnK: o.knnK } } : {}) });
    writeFileSync(out, `${JSON.stringify(model)}\n`);
    process.stderr.write(`  trained and calibrated in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } else {
    throw new InvalidArgumentError(`--kind: expected semantic, stacked or classifier, got ${o.kind}`);
  }
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`train:router failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
