/**
 * `npm run eval:router -- --data <dev.jsonl...> --strategy <rules|classifier|length|cascade|llm|all>`
 *
 * Offline evaluation of routing strategies on router dev sets (per-prompt scores of a strong and
 * a weak model): prints the cost–quality curve and RouteLLM's metrics (APGR, CPT(50%), CPT(80%))
 * next to a random router and the oracle, plus the share of calls the cheap tier keeps at 95% of
 * the strong model's quality. The classifier is scored by k-fold cross-validation by group on
 * the same dev set (and, as a second line, trained on the other benchmarks only), since the
 * held-out groups are not available here. `--out-md` writes the tables into a Markdown file.
 */
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import cliProgress from "cli-progress";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { createProviders, providersConfigSchema } from "@costwise/providers";
import { parseConfig, silentLogger } from "@costwise/stream-runtime";
import { loadClassifierModel } from "../classifier.ts";
import { DEFAULT_POLICY_FILE } from "../config.ts";
import { loadPolicy, type UseCasePolicy } from "../policy.ts";
import { loadEvalSet, namedPair, type EvalSet } from "./dataset.ts";
import { baseResult, cascadeResult, seededResult, strategyResult, type SetResult, type StrategyResult } from "./evaluate.ts";
import { renderConsole, renderMarkdown, writeGeneratedBlock } from "./report.ts";
import { cascadePoint, classifierCvScores, classifierTransferScores, lengthScores, llmScores, modelSawFile, modelScores, rulesScores } from "./strategies.ts";

const STRATEGY_NAMES = ["rules", "classifier", "length", "cascade", "llm", "all"] as const;
type StrategyName = (typeof STRATEGY_NAMES)[number];

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("not a positive integer");
  return n;
};

const program = new Command("eval:router")
  .description("Evaluate routing strategies on router dev sets (RouteLLM metrics, cost–quality curve)")
  .requiredOption("--data <files...>", "router dev jsonl files (../shared/data/router_*/dev.jsonl)")
  .option("--strategy <name>", `one of ${STRATEGY_NAMES.join(", ")}`, (v: string) => {
    if (!(STRATEGY_NAMES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${STRATEGY_NAMES.join(", ")}`);
    return v as StrategyName;
  }, "all" as StrategyName)
  .option("--folds <k>", "cross-validation folds (by group)", int, 5)
  .option("--seeds <n>", "fold assignments to repeat the cross-validation with", int, 5)
  .option("--model <file>", "score with this trained classifier instead of cross-validation")
  .option("--policy <file>", "routing policy with the rules, LLM-router and cascade settings", DEFAULT_POLICY_FILE)
  .option("--use-case <name>", "use case whose rules / LLM router are evaluated", "general-assistant")
  .option("--cascade-use-case <name>", "use case whose cascade check is evaluated", "math-answers")
  .option("--pairs <strong=weak...>", "model pairs for sets that name none (router_zeroeval_gsm8k)")
  .option("--strong <model>", "strong model for sets that name no pair")
  .option("--weak <model>", "weak model for sets that name no pair")
  .option("--drop-contaminated", "leave out rows RouteLLM flags as contaminated (as its own evaluation does)", false)
  .option("--limit <n>", "llm: only the first n rows", int)
  .option("--concurrency <n>", "llm: routing calls in flight", int, 8)
  .option("--out-md <file>", "write the tables into this Markdown file (between generated markers)")
  .showHelpAfterError();

interface Opts {
  data: string[]; strategy: StrategyName; folds: number; seeds: number; model?: string; policy: string; useCase: string; cascadeUseCase: string;
  pairs?: string[]; strong?: string; weak?: string; dropContaminated: boolean; limit?: number; concurrency: number; outMd?: string;
}

function loadSets(o: Opts): EvalSet[] {
  const pairs = (o.pairs ?? []).map((p) => {
    const [strong, weak] = p.split("=");
    if (!strong || !weak) throw new InvalidArgumentError(`--pairs expects strong=weak, got ${p}`);
    return { strong, weak };
  });
  if (o.strong && o.weak) pairs.push({ strong: o.strong, weak: o.weak });
  const sets: EvalSet[] = [];
  for (const file of o.data) {
    const first = namedPair(file);
    if (first) sets.push(loadEvalSet(file, { dropContaminated: o.dropContaminated }));
    else if (pairs.length === 0) sets.push(loadEvalSet(file, { dropContaminated: o.dropContaminated })); // throws, naming the models
    else for (const p of pairs) { const s = loadEvalSet(file, { ...p, dropContaminated: o.dropContaminated }); sets.push({ ...s, name: `${s.name} (${p.strong} vs ${p.weak})` }); }
  }
  return sets;
}

function useCase(policyFile: string, name: string): UseCasePolicy {
  const policy = loadPolicy(policyFile, { catalog });
  const uc = policy.useCases.get(name);
  if (!uc) throw new InvalidArgumentError(`policy ${policyFile} has no use case "${name}" (has ${[...policy.useCases.keys()].join(", ")})`);
  return uc;
}

async function main(): Promise<void> {
  const o = program.parse().opts<Opts>();
  const want = (s: StrategyName) => o.strategy === s || (o.strategy === "all" && s !== "llm");
  const sets = loadSets(o);
  const rulesUc = want("rules") || want("llm") ? useCase(o.policy, o.useCase) : null;
  const cascadeUc = want("cascade") ? useCase(o.policy, o.cascadeUseCase) : null;
  const fixedModel = o.model ? loadClassifierModel(o.model) : null;
  const ref = { inputTokens: 1000, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 250 };
  const priceRatio = costOf(requireModel(catalog, "gpt-4o-mini"), ref).totalNanoUsd / costOf(requireModel(catalog, "gpt-4o"), ref).totalNanoUsd;

  const cvSteps = want("classifier") && !fixedModel ? sets.length * o.folds * o.seeds : 0;
  const bar = cvSteps > 0 ? new cliProgress.SingleBar({ format: "  classifier cross-validation |{bar}| {value}/{total} fold models  {set}", hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
  bar?.start(cvSteps, 0, { set: "" });

  const results: SetResult[] = [];
  for (const set of sets) {
    const strategies: StrategyResult[] = [];
    if (want("length")) strategies.push(strategyResult(set, "length (baseline)", lengthScores(set)));
    if (want("rules") && rulesUc) strategies.push(strategyResult(set, `rules (${o.useCase})`, rulesScores(set, rulesUc), "hand-written rules from the policy; nothing fitted to this data"));
    if (want("classifier")) {
      if (fixedModel) {
        const seen = modelSawFile(fixedModel, set.file);
        strategies.push(strategyResult(set, `classifier ${fixedModel.version}`, modelScores(set, fixedModel), seen ? "IN-SAMPLE: the model was trained on this file, so this number is optimistic" : "the model was not trained on this file"));
      } else {
        bar?.update({ set: set.name });
        const bySeed = Array.from({ length: o.seeds }, (_, seed) => classifierCvScores(set, { folds: o.folds, seed, onFold: () => bar?.increment() }));
        strategies.push(seededResult(set, `classifier (${o.folds}-fold CV)`, bySeed, "trained on the other folds of this dev set"));
        // Other benchmarks whose files name their own pair: one consistent labelling (strong vs weak of that file).
        const uniqueOthers = sets.filter((s) => s.file !== set.file && s.benchmark !== set.benchmark && s.pairNamed);
        if (uniqueOthers.length > 0) {
          strategies.push(strategyResult(set, "classifier (other benchmarks)", classifierTransferScores(set, uniqueOthers), `trained on ${uniqueOthers.map((s) => path.basename(path.dirname(s.file))).join(" + ")} only: no row of this benchmark seen`));
        }
      }
    }
    if (o.strategy === "llm" && rulesUc) {
      const config = parseConfig(providersConfigSchema, process.env);
      const providers = createProviders(config, { catalog, logger: silentLogger });
      const rows = o.limit ? { ...set, rows: set.rows.slice(0, o.limit) } : set;
      const llmBar = new cliProgress.SingleBar({ format: `  llm router ${rulesUc.llm.model.id} |{bar}| {value}/{total}`, hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
      llmBar.start(rows.rows.length, 0);
      try {
        const { scores, unreadable } = await llmScores(rows, rulesUc, providers, { concurrency: o.concurrency, onRow: () => llmBar.increment() });
        strategies.push(strategyResult(rows, `llm (${rulesUc.llm.model.id})`, scores, `${unreadable} of ${rows.rows.length} ratings unreadable (scored ${rulesUc.llm.unparseableScore})`));
      } finally {
        llmBar.stop();
        await providers.close();
      }
    }
    const base = baseResult(set);
    const cp = want("cascade") && cascadeUc ? cascadePoint(set, cascadeUc) : null;
    results.push({ ...base, strategies, cascade: cp ? cascadeResult(`cascade (${o.cascadeUseCase})`, cp, base.quality) : null });
  }
  bar?.stop();

  for (const r of results) process.stdout.write(`\n${renderConsole(r, priceRatio)}\n`);
  if (o.outMd) {
    const cmd = `npm run eval:router -- ${process.argv.slice(2).join(" ")}`;
    writeGeneratedBlock(o.outMd, [`Generated by \`${cmd}\`.`, "", ...results.map((r) => renderMarkdown(r, priceRatio))].join("\n"));
    process.stdout.write(`\nwrote ${o.outMd}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`eval:router failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
