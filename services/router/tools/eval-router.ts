/**
 * `npm run eval:router -- --data <router_*.jsonl...> [--strategy s] [--model <file> | --shipped] [--seeds k]`
 *
 * Offline evaluation that cannot flatter: every set is reported with random, length, kNN and the
 * oracle next to the strategy, with RouteLLM's metrics (APGR, CPT(50%), CPT(80%)) and the share of
 * strong calls at 95% of the strong model's quality, and an interval over seeds.
 * - Without --model/--shipped: grouped k-fold cross-validation by group_id on each given file
 *   (the learned scorer and kNN see only the other folds); the interval is over fold seeds.
 * - With --model <file> (or --shipped: the model the shipped policy's use case for that kind of
 *   traffic names): the model scores the file as it is, no cross-validation. A model whose recorded
 *   training rows include the file's ids is refused; shared groups (the same questions under other
 *   ids) are warned about. kNN is built from the model's own training files; the interval is over
 *   group-bootstrap seeds of the evaluated file.
 * - Calibration check: the threshold that a quality target (--target, share of strong quality)
 *   derives, and the quality it achieves on data it was not calibrated on, in how many seeds.
 * - Streaming calibration (--stream-calibration, with --model/--shipped): the file is replayed in a
 *   seeded order through the router's own live re-calibration (LiveThresholds), shadow samples
 *   graded from the file's labels and every shadow call charged; next to the static threshold.
 * The last stdout line is one JSON object: {"strategies": {"random", "length", "knn", "oracle", "shipped", …}}.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { catalog, costOf, type ModelPrice } from "@costwise/pricing";
import { EMBEDDING_MODEL_NAMES, repoRoot } from "@costwise/infra";
import { DEFAULT_POLICY_FILE, ROUTER_EMBEDDING_MODEL } from "../src/config.ts";
import { strongWins, type EvalSet } from "../src/eval/dataset.ts";
import { baseResult, strategyResult } from "../src/eval/evaluate.ts";
import { cvScores, knnFrom, knnScorer, learnedScorer, subset, type EmbeddedSet } from "../src/eval/semantic.ts";
import { writeGeneratedBlock } from "../src/eval/report.ts";
import { stackedScorer, STACK_BASES, type Stack } from "../src/eval/stacked.ts";
import { tunedKnnScorer, type TunedKnnChoice } from "../src/eval/knn-tuned.ts";
import { cascadePoint, classifierCvScores, lengthScores, rulesScores, type Scores } from "../src/eval/strategies.ts";
import { loadPolicy, type RouterPolicy, type UseCasePolicy } from "../src/policy.ts";
import { labelAgreement, streamCalibration, type StreamRow, type StreamRun } from "../src/eval/stream-calibration.ts";
import { shadowsRoute } from "../src/semantic/live.ts";
import { chooseThreshold, groupHalf, rng } from "../src/semantic/calibration.ts";
import { loadSemanticModel, semanticScoreOf, type SemanticModel } from "../src/semantic/model.ts";
import { defaultL2, sha256Of, trainSemanticModel, unitScore } from "../src/semantic/train.ts";
import { embedSets } from "./semantic-data.ts";
import { loadSets } from "./sets.ts";

const EXTRA = ["semantic", "stacked", "knn-tuned", "classifier", "rules", "cascade", "all"] as const;
type Extra = (typeof EXTRA)[number];

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("not a positive integer");
  return n;
};
const frac = (v: string) => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError("expected a fraction in (0, 1]");
  return n;
};

const program = new Command("eval:router")
  .description("Evaluate routers on router files: random, length, kNN, oracle and the strategy, with intervals")
  .requiredOption("--data <files...>", "router jsonl files (../shared/data/router_*/dev.jsonl)")
  .option("--strategy <name>", `strategy next to the baselines: ${EXTRA.join(", ")}`, (v: string) => {
    if (!(EXTRA as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${EXTRA.join(", ")}`);
    return v as Extra;
  }, "semantic" as Extra)
  .option("--model <file>", "score this semantic model file (trained elsewhere) on the files; no cross-validation")
  .option("--shipped", "score the model the shipped policy names for the file's kind of traffic", false)
  .option("--no-ood", "with --model/--shipped: score the model without its out-of-distribution guard (to measure what the guard does)")
  .option("--seeds <k>", "fold seeds (cross-validation) or bootstrap seeds (--model)", int, 5)
  .option("--folds <k>", "grouped cross-validation folds", int, 5)
  .option("--knn-k <k>", "neighbours that vote in the kNN baseline", int, 20)
  .option("--embedding <model>", `local sentence model (${EMBEDDING_MODEL_NAMES.join(", ")}); default the router's, which is the cache's`, ROUTER_EMBEDDING_MODEL)
  .option("--target <q>", "quality target (share of strong quality) for the calibration check", frac, 0.95)
  .option("--policy <file>", "routing policy (rules, cascade, --shipped)", DEFAULT_POLICY_FILE)
  .option("--pairs <strong=weak...>", "model pairs for files that name none (router_zeroeval_gsm8k)")
  .option("--strong <model>", "strong model for files that name no pair")
  .option("--weak <model>", "weak model for files that name no pair")
  .option("--drop-contaminated", "leave out rows RouteLLM flags as contaminated", false)
  .option("--stream-calibration", "with --model/--shipped: replay the file in seeded orders through the router's live re-calibration, next to the static threshold", false)
  .option("--sample-rate <f>", "--stream-calibration: shadow sample rate (default: the use case's shadow.sampleRate)", frac)
  .option("--refresh-every <n>", "--stream-calibration: requests between re-calibrations (production: every ROUTER_CALIBRATION_REFRESH_MS)", int, 25)
  .option("--out-md <files...>", "write the tables into these Markdown files (between generated markers)")
  .option("--md-block <name>", "write into the named block (<!-- eval:router:<name> generated:start -->) instead of the default one")
  .showHelpAfterError();

interface Opts {
  data: string[]; strategy: Extra; embedding: string; ood: boolean; model?: string; shipped: boolean; seeds: number; folds: number; knnK: number; target: number; policy: string;
  pairs?: string[]; strong?: string; weak?: string; dropContaminated: boolean; outMd?: string[]; mdBlock?: string;
  streamCalibration: boolean; sampleRate?: number; refreshEvery: number;
}

interface Metric { apgr: number | null; cpt50: number | null; cpt80: number | null; strong_share_at_95: number | null }
interface Summary extends Metric {
  seeds: number;
  interval: { [K in keyof Metric]: [number, number] | null };
  note?: string;
  calibration?: CalibrationCheck;
  stream_calibration?: StreamCheck;
}
interface StreamSide { met: number; met_share: number; achieved_mean: number; achieved_interval: [number, number]; strong_share_mean: number; strong_share_interval: [number, number]; net_cost_mean: number; net_cost_interval: [number, number]; shadow_cost_mean: number; samples_mean: number; final_threshold_interval: [number, number]; threshold_changes_mean: number }
interface StreamCheck { target: number; seeds: number; requests: number; use_case: string; sample_rate: number; refresh_every: number; grading: string; pricing: string; live: StreamSide; static: StreamSide }
interface CalibrationCheck { target: number; seeds: number; met: number; met_share: number; achieved_mean: number; achieved_interval: [number, number]; strong_share_mean: number; threshold: string; note?: string }

const KEYS = ["apgr", "cpt50", "cpt80", "strong_share_at_95"] as const;
const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const pctl = (xs: readonly number[], q: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!; };

function metricOf(set: EvalSet, scores: Scores): Metric {
  const m = strategyResult(set, "x", scores).metrics;
  return { apgr: m.apgr, cpt50: m.cpt50, cpt80: m.cpt80, strong_share_at_95: m.strongShareAt95 };
}

/** Mean over seeds, and a 5–95% interval (min–max for fewer than 20 seeds). */
function summarise(ms: readonly Metric[], note?: string): Summary {
  const out = { seeds: ms.length, interval: {} } as Summary;
  for (const k of KEYS) {
    const xs = ms.map((m) => m[k]).filter((x): x is number => x !== null);
    out[k] = xs.length === ms.length && xs.length > 0 ? mean(xs) : null;
    out.interval[k] = xs.length === ms.length && xs.length > 0 ? (ms.length >= 20 ? [pctl(xs, 0.05), pctl(xs, 0.95)] : [Math.min(...xs), Math.max(...xs)]) : null;
  }
  if (note) out.note = note;
  return out;
}

/** Group-bootstrap resamples of a set's row indices, one per seed (seed 0 is the set as it is). */
function bootstraps(set: EvalSet, seeds: number): number[][] {
  const byGroup = new Map<string, number[]>();
  set.rows.forEach((r, i) => (byGroup.get(r.groupId) ?? byGroup.set(r.groupId, []).get(r.groupId)!).push(i));
  const groups = [...byGroup.values()];
  return Array.from({ length: seeds }, (_, s) => {
    if (s === 0) return set.rows.map((_, i) => i);
    const rand = rng(1000 + s);
    return Array.from({ length: groups.length }, () => groups[Math.floor(rand() * groups.length)]!).flat();
  });
}

const pick = (set: EvalSet, idx: readonly number[]): EvalSet => ({ ...set, rows: idx.map((i) => set.rows[i]!) });
const pickScores = (s: Scores, idx: readonly number[]) => idx.map((i) => s[i]!);

/** Achieved share of strong quality when rows scoring ≥ threshold go to the strong model. */
function achieved(set: EvalSet, scores: Scores, threshold: number): { quality: number; strongShare: number } {
  let routed = 0, strong = 0, n = 0;
  set.rows.forEach((r, i) => {
    const up = scores[i]! >= threshold;
    routed += unitScore(set.scoreType, up ? r.strong : r.weak);
    strong += unitScore(set.scoreType, r.strong);
    if (up) n++;
  });
  return { quality: strong === 0 ? 1 : routed / strong, strongShare: n / set.rows.length };
}

function calibrationSummary(target: number, runs: { quality: number; strongShare: number }[], threshold: string, note?: string): CalibrationCheck {
  const met = runs.filter((r) => r.quality >= target).length;
  const q = runs.map((r) => r.quality);
  return { target, seeds: runs.length, met, met_share: met / runs.length, achieved_mean: mean(q), achieved_interval: [Math.min(...q), Math.max(...q)], strong_share_mean: mean(runs.map((r) => r.strongShare)), threshold, ...(note ? { note } : {}) };
}

function streamSide(runs: readonly StreamRun[], target: number): StreamSide {
  const span = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
  const q = runs.map((r) => r.quality), met = q.filter((x) => x >= target).length;
  return {
    met, met_share: met / runs.length, achieved_mean: mean(q), achieved_interval: span(q),
    strong_share_mean: mean(runs.map((r) => r.strongShare)), strong_share_interval: span(runs.map((r) => r.strongShare)),
    net_cost_mean: mean(runs.map((r) => r.cost)), net_cost_interval: span(runs.map((r) => r.cost)), shadow_cost_mean: mean(runs.map((r) => r.shadowCost)),
    samples_mean: mean(runs.map((r) => r.samples)), final_threshold_interval: span(runs.map((r) => r.finalThreshold)), threshold_changes_mean: mean(runs.map((r) => r.thresholdChanges)),
  };
}

/** Output tokens assumed for a model whose answer length the file does not record (MMLU). */
const UNKNOWN_OUTPUT_TOKENS = 300;
const tokensOf = (chars: number) => Math.max(1, Math.ceil(chars / 4));
const priceOf = (m: ModelPrice, inputChars: number, outputChars: number | null) =>
  costOf(m, { inputTokens: tokensOf(inputChars), cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: outputChars === null ? UNKNOWN_OUTPUT_TOKENS : tokensOf(outputChars) }).totalNanoUsd;

/**
 * Replay the set through the use case's live re-calibration with this model, over seeds, next to
 * the static threshold. The use case is the one whose policy names the model file (else the one
 * for the file's kind of traffic); its tiers price the calls (cheap tier on the frontier's provider).
 */
async function streamCheck(e: EmbeddedSet, scores: Scores, model: SemanticModel, modelFile: string, o: Opts): Promise<StreamCheck> {
  const policy = loadPolicy(o.policy, { catalog });
  const byFile = [...policy.useCases.values()].find((u) => u.semantic && path.resolve(u.semantic.file) === path.resolve(modelFile));
  const uc = byFile ?? policy.useCases.get(useCaseForBenchmark(e.set.benchmark));
  if (!uc?.semantic || !uc.defaultModel) throw new InvalidArgumentError(`--stream-calibration needs a semantic use case with a defaultModel in ${o.policy}`);
  const target = { quality: o.target };
  const choice = chooseThreshold(model.calibration, target);
  if (!("threshold" in choice)) throw new InvalidArgumentError(`--stream-calibration: ${choice.reason}`);
  const one: RouterPolicy = { ...policy, useCases: new Map([[uc.useCase, { ...uc, semantic: { ...uc.semantic, model, target, threshold: choice.threshold, expected: choice.point } }]]) };
  const frontier = uc.defaultModel;
  const cheap = uc.tiers[0]!.models?.[frontier.provider];
  if (!cheap) throw new InvalidArgumentError(`--stream-calibration: use case ${uc.useCase} has no cheap model on ${frontier.provider}`);
  const rows: StreamRow[] = e.set.rows.map((r, i) => {
    const inChars = r.input.userText.length + r.input.systemChars + r.input.contextChars;
    return {
      score: scores[i]!, strong: unitScore(e.set.scoreType, r.strong), weak: unitScore(e.set.scoreType, r.weak), agreed: labelAgreement(e.set.scoreType, r.strong, r.weak),
      frontierCost: priceOf(frontier, inChars, r.responseChars.strong), cheapCost: priceOf(cheap, inChars, r.responseChars.weak),
    };
  });
  const sampleRate = o.sampleRate ?? uc.shadow.sampleRate;
  const seeds = Array.from({ length: o.seeds }, (_, s) => s + 1);
  const run = (live: boolean) => Promise.all(seeds.map((seed) => streamCalibration(rows, { policy: one, useCase: uc.useCase, seed, sampleRate, refreshEvery: o.refreshEvery, live, shadows: (side) => shadowsRoute(one.useCases.get(uc.useCase)!, side) })));
  const liveRuns = await run(true), staticRuns = await run(false);
  return {
    target: o.target, seeds: seeds.length, requests: rows.length, use_case: uc.useCase, sample_rate: sampleRate, refresh_every: o.refreshEvery,
    grading: `shadow comparisons graded from the file's labels (${e.set.scoreType === "binary_correct" ? "agree when both answers are right or both wrong" : "agree when the cheap answer scores at least as well"}); no judge call is charged (the shipped judges are exact match and the local sentence model)`,
    pricing: `${cheap.id} vs ${frontier.id} list prices; tokens = chars / 4 of the prompt and of each model's answer in the file (${UNKNOWN_OUTPUT_TOKENS} output tokens where it has none); a shadow call is the other tier's price for that request`,
    live: streamSide(liveRuns, o.target), static: streamSide(staticRuns, o.target),
  };
}

/** Use case of the demo/replay for a kind of traffic (fixed names, see the project brief). */
export function useCaseForBenchmark(benchmark: string): string {
  return benchmark === "gsm8k" ? "math-answers" : "general-assistant";
}

function modelFromPolicy(policyFile: string, set: EvalSet): { model: SemanticModel; useCase: string; file: string } {
  const policy = loadPolicy(policyFile, { catalog });
  const name = useCaseForBenchmark(set.benchmark);
  const uc = policy.useCases.get(name);
  if (!uc?.semantic) throw new InvalidArgumentError(`--shipped: use case ${name} of ${policyFile} does not route with a semantic model`);
  return { model: uc.semantic.model, useCase: name, file: uc.semantic.file };
}

/** Refuse a model that saw the file's rows; say so when it saw the same groups under other ids. */
function checkUnseen(model: SemanticModel, set: EvalSet, modelFile: string): string | null {
  const ids = new Set(model.training.rowIds);
  const seen = set.rows.filter((r) => ids.has(r.id)).length;
  const fileSha = sha256Of(readFileSync(set.file));
  if (seen > 0 || model.training.files.some((f) => f.sha256 === fileSha)) {
    throw new InvalidArgumentError(`${modelFile} was trained on ${seen} of the ${set.rows.length} rows of ${set.file}: score it on a file it has not seen (or cross-validate without --model)`);
  }
  const groups = new Set((model.training as { groupIds?: string[] }).groupIds ?? []);
  const shared = new Set(set.rows.filter((r) => groups.has(r.groupId)).map((r) => r.groupId)).size;
  return shared > 0 ? `WARNING: ${shared} of the file's groups (same questions, other ids) are in the model's training data` : null;
}

/** The model's training files, found where it was trained, next to the evaluated files' folders, or in the shared data folder. */
function trainingPool(model: SemanticModel, modelFile: string, o: Opts): EvalSet[] {
  const dataDirs = [...new Set(o.data.map((d) => path.dirname(path.dirname(path.resolve(d)))))];
  return model.training.files.map((f) => {
    const candidates = [f.path, ...dataDirs.map((d) => path.join(d, f.name)), path.resolve(repoRoot, "..", "shared", "data", f.name), path.resolve(repoRoot, "../..", "shared", "data", f.name)];
    const file = candidates.find((p): p is string => p !== undefined && existsSync(p) && sha256Of(readFileSync(p)) === f.sha256);
    if (!file) throw new InvalidArgumentError(`the kNN baseline needs the model's training file ${f.name} (sha256 ${f.sha256.slice(0, 12)}…), which is not here`);
    const sets = loadSets({ data: [file], strong: f.strong, weak: f.weak, dropContaminated: o.dropContaminated });
    return sets[0]!;
  });
}

type SetSummary = Record<string, Summary> & { random: Summary; length: Summary; knn: Summary; oracle: Summary; shipped: Summary };

async function evaluateSet(e: EmbeddedSet, o: Opts, pools: Map<string, EmbeddedSet[]>, models: Map<string, { model: SemanticModel; file: string; label: string }>): Promise<SetSummary> {
  const set = e.set;
  const base = baseResult(set);
  const fixed = (scores: Scores, idxs: number[][], note?: string) => summarise(idxs.map((idx) => metricOf(pick(set, idx), pickScores(scores, idx))), note);
  const out = {} as SetSummary;
  const rand = base.random.metrics, orc = base.oracle.metrics;
  const mk = (m: typeof rand): Metric => ({ apgr: m.apgr, cpt50: m.cpt50, cpt80: m.cpt80, strong_share_at_95: m.strongShareAt95 });
  const shipped = models.get(set.file);
  if (shipped) {
    const boots = bootstraps(set, o.seeds);
    const note = checkUnseen(shipped.model, set, shipped.file);
    const scores = set.rows.map((_, i) => semanticScoreOf(shipped.model, e.vectors[i]!, e.dense[i]!));
    out.random = summarise(boots.map((idx) => mk(baseResult(pick(set, idx)).random.metrics)), "expected curve of a random router");
    out.length = fixed(lengthScores(set), boots, "log length of the conversation; nothing fitted");
    const pool = pools.get(shipped.file)!;
    out.knn = fixed(knnFrom(pool, o.knnK, e), boots, `k=${o.knnK}, labelled rows: the model's training files (${pool.map((p) => p.set.name).join(" + ")})`);
    out.oracle = summarise(boots.map((idx) => mk(baseResult(pick(set, idx)).oracle.metrics)), "knows every row's outcome");
    out.shipped = fixed(scores, boots, [`${shipped.label}, not trained on this file`, note].filter(Boolean).join("; "));
    const choice = chooseThreshold(shipped.model.calibration, { quality: o.target });
    if ("threshold" in choice) {
      out.shipped.calibration = calibrationSummary(o.target, boots.map((idx) => achieved(pick(set, idx), pickScores(scores, idx), choice.threshold)), choice.threshold.toFixed(4), `threshold from the model's calibration table (lower bound ${choice.point.qualityLower.toFixed(3)} at strong share ${choice.point.strongShare.toFixed(3)})`);
    }
    if (o.streamCalibration) out.shipped.stream_calibration = await streamCheck(e, scores, shipped.model, shipped.file, o);
    return out;
  }
  const seeds = Array.from({ length: o.seeds }, (_, s) => s);
  const all = [set.rows.map((_, i) => i)];
  out.random = summarise([mk(rand)], "expected curve of a random router");
  out.length = fixed(lengthScores(set), all, "log length of the conversation; nothing fitted");
  out.knn = summarise(seeds.map((s) => metricOf(set, cvScores(e, o.folds, s, knnScorer(e, o.knnK)))), `k=${o.knnK}, ${o.folds}-fold grouped CV over ${o.seeds} fold seeds`);
  out.oracle = summarise([mk(orc)], "knows every row's outcome");
  const l2 = defaultL2(Math.round((set.rows.length * (o.folds - 1)) / o.folds));
  out.shipped = summarise(seeds.map((s) => metricOf(set, cvScores(e, o.folds, s, learnedScorer(e, { l2 })))), `semantic (logistic regression on embedding + shape), ${o.folds}-fold grouped CV over ${o.seeds} fold seeds`);
  // Calibration on unseen groups: calibrate on one half of the groups (out-of-fold), measure on the other.
  const runs: { quality: number; strongShare: number }[] = [];
  let unmet = 0;
  for (const s of seeds) {
    const a = set.rows.flatMap((r, i) => (groupHalf(r.groupId, s) === 0 ? [i] : [])), b = set.rows.flatMap((r, i) => (groupHalf(r.groupId, s) === 1 ? [i] : []));
    if (new Set(a.map((i) => set.rows[i]!.groupId)).size < o.folds) continue;
    const m = trainSemanticModel([subset(e, a)], { version: "check", embedding: { model: "check", dimensions: e.vectors[0]!.length }, calibrationSeeds: 1, folds: o.folds });
    const choice = chooseThreshold(m.calibration, { quality: o.target });
    if (!("threshold" in choice)) { unmet++; continue; }
    const eb = subset(e, b);
    runs.push(achieved(eb.set, b.map((_, j) => semanticScoreOf(m, eb.vectors[j]!, eb.dense[j]!)), choice.threshold));
  }
  if (runs.length > 0) out.shipped.calibration = calibrationSummary(o.target, runs, "per seed", `calibrated on half of the groups (out-of-fold), measured on the other half${unmet ? `; ${unmet} seeds found no threshold below all-strong` : ""}`);
  return out;
}

async function main(): Promise<void> {
  const o = program.parse().opts<Opts>();
  if (o.model && o.shipped) throw new InvalidArgumentError("--model and --shipped are exclusive");
  if (o.streamCalibration && !o.model && !o.shipped) throw new InvalidArgumentError("--stream-calibration scores a model on a file it was not trained on: give --model or --shipped");
  const sets = loadSets(o);
  const models = new Map<string, { model: SemanticModel; file: string; label: string }>();
  for (const s of sets) {
    if (o.model) { const m = loadSemanticModel(o.model); models.set(s.file, { model: m, file: o.model, label: `${m.version} (${o.model})` }); }
    else if (o.shipped) { const m = modelFromPolicy(o.policy, s); models.set(s.file, { model: m.model, file: m.file, label: `shipped ${m.useCase}: ${m.model.version}` }); }
  }
  if (!o.ood) for (const [k, m] of models) { const { ood: _guard, ...bare } = m.model; models.set(k, { ...m, model: bare, label: `${m.label} without its out-of-distribution guard` }); }
  const poolSets = new Map<string, EvalSet[]>();
  for (const m of models.values()) if (!poolSets.has(m.file)) poolSets.set(m.file, trainingPool(m.model, m.file, o));
  const flatPools = [...poolSets.values()].flat();
  const { embedding, sets: embedded } = await embedSets([...sets, ...flatPools], { model: o.embedding });
  for (const m of models.values()) if (m.model.embedding.model !== embedding.model) throw new InvalidArgumentError(`${m.file} was trained on embedding ${m.model.embedding.model}; this evaluation embeds with ${embedding.model}`);
  const pools = new Map<string, EmbeddedSet[]>();
  let k = sets.length;
  for (const [file, ps] of poolSets) { pools.set(file, embedded.slice(k, k + ps.length)); k += ps.length; }

  const perSet: { set: EvalSet; res: SetSummary; extra: Record<string, Summary> }[] = [];
  for (const e of embedded.slice(0, sets.length)) {
    process.stderr.write(`evaluating ${e.set.name} (${e.set.rows.length} rows)\n`);
    const res = await evaluateSet(e, o, pools, models);
    const extra: Record<string, Summary> = {};
    const want = (s: Extra) => o.strategy === s || o.strategy === "all";
    const allRows = [e.set.rows.map((_, i) => i)];
    if ((want("stacked") || o.strategy === "semantic") && !models.has(e.set.file)) {
      const l2 = defaultL2(Math.round((e.set.rows.length * (o.folds - 1)) / o.folds));
      const fitted: Stack[] = [];
      const runs = Array.from({ length: o.seeds }, (_, s) => metricOf(e.set, cvScores(e, o.folds, s, stackedScorer(e, { learn: { l2 }, knnK: o.knnK }, s, (st) => fitted.push(st)))));
      const w = STACK_BASES.map((b) => `${b} ${mean(fitted.map((f) => f.weights[b])).toFixed(2)}`).join(", ");
      extra["stacked"] = summarise(runs, `blend of semantic, kNN and length ranks, weights fitted by inner grouped CV on the training folds only (mean weights: ${w}); ${o.folds}-fold grouped CV over ${o.seeds} fold seeds`);
    }
    if (want("knn-tuned") && !models.has(e.set.file)) {
      const chosen: TunedKnnChoice[] = [];
      const runs = Array.from({ length: o.seeds }, (_, s) => metricOf(e.set, cvScores(e, o.folds, s, tunedKnnScorer(e, {}, s, (c) => chosen.push(c)))));
      const tally = [...chosen.reduce((m, c) => m.set(`k=${c.k} t=${c.temperature}`, (m.get(`k=${c.k} t=${c.temperature}`) ?? 0) + 1), new Map<string, number>())].sort((a, b) => b[1] - a[1]);
      extra["knn-tuned"] = summarise(runs, `kNN with k and vote temperature chosen by inner grouped CV on the training folds only (chosen: ${tally.slice(0, 3).map(([c, n]) => `${c} ×${n}`).join(", ")}); ${o.folds}-fold grouped CV over ${o.seeds} fold seeds`);
    }
    if (want("classifier")) extra["classifier"] = summarise(Array.from({ length: o.seeds }, (_, s) => metricOf(e.set, classifierCvScores(e.set, { folds: o.folds, seed: s }))), "hashed words + shape, grouped CV");
    if (want("rules")) {
      const uc = loadPolicy(o.policy, { catalog }).useCases.get("general-rules") as UseCasePolicy | undefined;
      if (uc) extra["rules"] = summarise(allRows.map((idx) => metricOf(pick(e.set, idx), pickScores(rulesScores(e.set, uc), idx))), "general-rules: hand-written rules");
    }
    if (want("cascade")) {
      const uc = loadPolicy(o.policy, { catalog }).useCases.get("math-cascade");
      const cp = uc ? cascadePoint(e.set, uc) : null;
      if (cp) extra["cascade"] = { apgr: null, cpt50: null, cpt80: null, strong_share_at_95: null, seeds: 1, interval: { apgr: null, cpt50: null, cpt80: null, strong_share_at_95: null }, note: `one operating point: ${cp.escalated}/${cp.rows} escalated, quality ${cp.point.quality.toFixed(3)}` };
    }
    perSet.push({ set: e.set, res, extra });
  }

  const lines: string[] = [];
  const f3 = (x: number | null) => (x === null ? "n/a" : x.toFixed(3));
  const pc = (x: number | null) => (x === null ? "n/a" : `${(x * 100).toFixed(1)}%`);
  const iv = (s: Summary, k: (typeof KEYS)[number], f: (x: number | null) => string) => (s.interval[k] && s.seeds > 1 && s.interval[k]![0] !== s.interval[k]![1] ? ` [${f(s.interval[k]![0])}–${f(s.interval[k]![1])}]` : "");
  for (const { set, res, extra } of perSet) {
    const q = baseResult(set).quality;
    lines.push(`### ${set.name}`, "", `${set.rows.length} rows in ${new Set(set.rows.map((r) => r.groupId)).size} groups; strong ${set.strongModel} = ${q.strong.toFixed(3)}, weak ${set.weakModel} = ${q.weak.toFixed(3)} (${set.scoreType}); strong better on ${set.rows.filter((r) => strongWins(r)).length} rows.`, "");
    lines.push("| router | APGR | CPT(50%) | CPT(80%) | strong calls at 95% quality | how |", "| --- | --- | --- | --- | --- | --- |");
    for (const [name, s] of Object.entries({ ...res, ...extra })) {
      lines.push(`| ${name} | ${f3(s.apgr)}${iv(s, "apgr", f3)} | ${pc(s.cpt50)}${iv(s, "cpt50", pc)} | ${pc(s.cpt80)}${iv(s, "cpt80", pc)} | ${pc(s.strong_share_at_95)}${iv(s, "strong_share_at_95", pc)} | ${s.note ?? ""} |`);
    }
    const c = res.shipped.calibration;
    const sc = res.shipped.stream_calibration;
    if (sc) {
      const side = (name: string, x: StreamSide) => `| ${name} | ${x.met}/${sc.seeds} (${pc(x.met_share)}) | ${x.achieved_mean.toFixed(3)} [${x.achieved_interval[0].toFixed(3)}–${x.achieved_interval[1].toFixed(3)}] | ${pc(x.strong_share_mean)} [${pc(x.strong_share_interval[0])}–${pc(x.strong_share_interval[1])}] | ${pc(x.net_cost_mean)} [${pc(x.net_cost_interval[0])}–${pc(x.net_cost_interval[1])}] | ${pc(x.shadow_cost_mean)} | ${x.samples_mean.toFixed(1)} | ${x.final_threshold_interval[0].toFixed(3)}–${x.final_threshold_interval[1].toFixed(3)} |`;
      lines.push("", `Streaming calibration (use case ${sc.use_case}, target ${sc.target} of strong quality, ${sc.requests} requests in ${sc.seeds} seeded orders, shadow sample rate ${sc.sample_rate}, re-calibrated every ${sc.refresh_every} requests). ${sc.grading}. Cost: ${sc.pricing}; net cost is served + shadow cost as a share of always-frontier.`, "",
        "| threshold | seeds meeting the target | achieved quality [min–max] | strong share | net cost vs always-frontier | of which shadow | shadow samples | final threshold |", "| --- | --- | --- | --- | --- | --- | --- | --- |",
        side("live re-calibration", sc.live), side("static (model file)", sc.static));
    }
    if (c) lines.push("", `Calibration check (target: ${c.target} of strong quality): met in ${c.met}/${c.seeds} seeds (${pc(c.met_share)}); achieved ${c.achieved_mean.toFixed(3)} [${c.achieved_interval[0].toFixed(3)}–${c.achieved_interval[1].toFixed(3)}] at ${pc(c.strong_share_mean)} strong calls; threshold ${c.threshold}. ${c.note ?? ""}`);
    lines.push("");
  }
  const text = lines.join("\n");
  process.stdout.write(`${text}\n`);
  for (const file of o.outMd ?? []) {
    writeGeneratedBlock(file, [`Generated by \`npm run eval:router -- ${process.argv.slice(2).join(" ")}\` (embedding ${embedding.model}).`, "", text].join("\n"), o.mdBlock);
    process.stdout.write(`wrote ${file}\n`);
  }
  // The last line: per strategy the mean over sets (the only set's figures for one file), per-set figures inside.
  const names = [...new Set(perSet.flatMap((p) => [...Object.keys(p.res), ...Object.keys(p.extra)]))];
  const strategies: Record<string, unknown> = {};
  for (const n of names) {
    const per = perSet.map((p) => ({ set: p.set.name, s: (p.res as Record<string, Summary>)[n] ?? p.extra[n] })).filter((x) => x.s);
    // Sets without a strong–weak gap have no APGR/CPT: the mean is over the sets that have one.
    const avg = (k: (typeof KEYS)[number]) => { const xs = per.map((x) => x.s![k]).filter((v): v is number => v !== null); return xs.length ? mean(xs) : null; };
    strategies[n] = { apgr: avg("apgr"), cpt50: avg("cpt50"), cpt80: avg("cpt80"), strong_share_at_95: avg("strong_share_at_95"), sets_averaged: per.filter((x) => x.s!.apgr !== null).length, ...(per.length === 1 ? { interval: per[0]!.s!.interval, seeds: per[0]!.s!.seeds, ...(per[0]!.s!.calibration ? { calibration: per[0]!.s!.calibration } : {}) } : { sets: Object.fromEntries(per.map((x) => [x.set, x.s])) }) };
  }
  process.stdout.write(`${JSON.stringify({ strategies })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`eval:router failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
