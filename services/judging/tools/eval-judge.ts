/**
 * `npm run eval:judge -- --data <router_*.jsonl>... [--n <per file>] [--seed s] [--similarity x] [--judges embedding,llm]`
 *
 * How well each shadow judge agrees with the recorded scores of router data: for every row with
 * both the strong and the weak model's recorded answer, does the judge prefer the model whose
 * recorded score is higher (or call a tie when the scores are equal)? Printed next to simple
 * baselines; the last stdout line is a JSON summary. Progress goes to stderr.
 */
import { Command, InvalidArgumentError } from "commander";
import { batchingEmbedder, localEmbedder } from "@costwise/embeddings";
import { ensureEmbeddingModel } from "@costwise/infra";
import { catalog, requireModel } from "@costwise/pricing";
import { createProviders, providersConfigSchema } from "@costwise/providers";
import { mapLimit, parseConfig, silentLogger } from "@costwise/stream-runtime";
import { agreementOf, auc, acceptable, baselineVerdicts, embeddingVerdict, JudgeDataError, rateMatchedThreshold, readPairs, type Agreement, type Outcome } from "../src/eval.ts";
import { embeddingAgreement, pairwisePreference, parsePreference } from "../src/judge.ts";

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("not a positive integer");
  return n;
};
const JUDGES = ["embedding", "llm"] as const;

const program = new Command("eval:judge")
  .description("Agreement of the shadow judges with the recorded scores of router data, next to baselines")
  .requiredOption("--data <files...>", "router jsonl files (rows need both models' recorded `response`)")
  .option("--n <rows>", "at most this many comparable rows per file (a seeded sample)", int)
  .option("--seed <s>", "sampling and random-baseline seed", (v) => Number(v), 1)
  .option("--similarity <x>", "embedding judge: similarity at or above which the answers agree (the router's default)", (v) => Number(v), 0.87)
  .option("--judges <list>", "comma-separated: embedding, llm", "embedding,llm")
  .option("--judge-model <id>", "llm judge: the cheap model that compares", "gpt-4o-mini")
  .option("--allow-emulator", "run the llm judge against the provider emulator (a plumbing check: its figures measure the emulator, not a judge)", false)
  .option("--concurrency <n>", "llm judge calls in flight", int, 4)
  .showHelpAfterError();

interface Opts { data: string[]; n?: number; seed: number; similarity: number; judges: string; judgeModel: string; allowEmulator: boolean; concurrency: number }

const round = (x: number | null) => (x === null ? null : Math.round(x * 10_000) / 10_000);
const roundCi = (c: [number, number] | null) => (c ? [round(c[0])!, round(c[1])!] : null);
function summary(a: Agreement) {
  return {
    agreement: round(a.agreement), ci95: roundCi(a.ci95), kappa: round(a.kappa), n: a.n,
    shadow: { accuracy: round(a.shadow.accuracy), ci95: roundCi(a.shadow.ci95), kappa: round(a.shadow.kappa) },
    decisive: { accuracy: round(a.decisive.accuracy), ci95: roundCi(a.decisive.ci95), n: a.decisive.n },
  };
}
const pct = (x: number | null) => (x === null ? "   -  " : `${(x * 100).toFixed(1).padStart(5)}%`);
const line = (name: string, a: Agreement) =>
  `${name.padEnd(22)} ${pct(a.agreement)} [${pct(a.ci95?.[0] ?? null)}, ${pct(a.ci95?.[1] ?? null)}]  kappa ${(a.kappa ?? NaN).toFixed(3).padStart(6)}  ` +
  `shadow ${pct(a.shadow.accuracy)} kappa ${(a.shadow.kappa ?? NaN).toFixed(3).padStart(6)}  decisive ${pct(a.decisive.accuracy)} of ${a.decisive.n}  n ${a.n}`;

async function main(o: Opts): Promise<void> {
  const judges = o.judges.split(",").map((s) => s.trim()).filter(Boolean);
  for (const j of judges) if (!(JUDGES as readonly string[]).includes(j)) throw new InvalidArgumentError(`--judges: unknown judge ${j} (expected ${JUDGES.join(", ")})`);
  const { pairs, skipped, files } = readPairs(o.data, { ...(o.n !== undefined ? { n: o.n } : {}), seed: o.seed });
  if (pairs.length === 0) throw new JudgeDataError(`no row of ${o.data.join(", ")} has both models' recorded responses (skipped: ${JSON.stringify(skipped)})`);
  const truth = pairs.map((p) => p.truth);
  const dist = Object.fromEntries((["strong", "weak", "tie"] as const).map((k) => [k, truth.filter((t) => t === k).length]));
  process.stderr.write(`${pairs.length} comparable pairs from ${files.length} file(s); recorded outcome: strong better ${dist.strong}, weak better ${dist.weak}, tie ${dist.tie}\n`);
  const out: Record<string, unknown> = {};
  const printed: string[] = [];

  const base = baselineVerdicts(pairs, o.seed);
  const baselines: Record<string, unknown> = Object.fromEntries(Object.entries(base).map(([k, v]) => {
    const a = agreementOf(truth, v);
    printed.push(line(`baseline ${k}`, a));
    return [k, summary(a)];
  }));
  // A random judge's figure depends on its draws: show the spread over 20 seeds next to seed `--seed`.
  const randomRuns = Array.from({ length: 20 }, (_, i) => agreementOf(truth, baselineVerdicts(pairs, o.seed + 1 + i).random).agreement ?? 0);
  baselines.random = { ...(baselines.random as object), seeds: 20, agreement_range: [round(Math.min(...randomRuns)), round(Math.max(...randomRuns))] };

  if (judges.includes("embedding")) {
    const modelDir = await ensureEmbeddingModel();
    const embedder = batchingEmbedder(await localEmbedder({ modelDir, threads: 1 }), 4);
    const sims: number[] = [];
    let done = 0;
    for (const p of pairs) {
      sims.push((await embeddingAgreement(embedder, p.weak, p.strong)).similarity);
      if (++done % 50 === 0 || done === pairs.length) process.stderr.write(`embedding judge: ${done}/${pairs.length}\r`);
    }
    process.stderr.write("\n");
    await embedder.close?.();
    const a = agreementOf(truth, sims.map((s) => embeddingVerdict(s, o.similarity)));
    printed.push(line(`embedding (≥ ${o.similarity})`, a));
    const sorted = [...sims].sort((x, y) => x - y);
    const matched = rateMatchedThreshold(sims, truth);
    const q = (f: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))]!);
    out.embedding = {
      ...summary(a), similarity: o.similarity, model: embedder.name, cost_usd: 0,
      // Threshold-free: how well the similarity separates acceptable cheap answers from worse ones.
      auc: round(auc(sims, truth.map(acceptable))), similarity_quantiles: { p10: q(0.1), p50: q(0.5), p90: q(0.9) },
      acceptable_rate: round(truth.filter(acceptable).length / truth.length),
      // The threshold at which the judge's agreement rate equals the recorded acceptable rate (tuned on this data).
      rate_matched_similarity: round(matched),
      // Descriptive, on the data given (choosing a threshold here is tuning on it): the shadow decision at other thresholds.
      by_threshold: [...new Set([0.7, 0.75, 0.8, 0.85, 0.9, 0.95, round(matched)!])].sort((x, y) => x - y).map((t) => {
        const x = agreementOf(truth, sims.map((sim) => embeddingVerdict(sim, t)));
        return { similarity: t, agree_rate: round(sims.filter((sim) => sim >= t).length / sims.length), agreement: round(x.agreement), shadow_accuracy: round(x.shadow.accuracy), shadow_kappa: round(x.shadow.kappa) };
      }),
    };
  }

  if (judges.includes("llm")) {
    const config = parseConfig(providersConfigSchema, process.env);
    const model = requireModel(catalog, o.judgeModel);
    const keyVar = model.provider === "anthropic" ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
    const real = model.provider === "anthropic" ? Boolean(config.ANTHROPIC_API_KEY) : Boolean(config.OPENAI_API_KEY);
    if (!real && !o.allowEmulator) {
      out.llm = { skipped: `${keyVar} is not set: the calls would go to the provider emulator, which is not a model, so no agreement figure would mean anything (--allow-emulator runs it anyway as a plumbing check)`, provider: "emulator", model: model.id };
      printed.push(`llm (${model.id})        skipped: set ${keyVar} to measure it on the real API`);
    } else {
      const providers = createProviders(config, { catalog, logger: silentLogger });
      try {
        let done = 0;
        const results = await mapLimit(pairs, o.concurrency, async (p) => {
          const r = await pairwisePreference(p.prompt, p.weak, p.strong, { chat: providers, model, catalog, requestId: `eval-judge:${p.id}` });
          if (++done % 10 === 0 || done === pairs.length) process.stderr.write(`llm judge: ${done}/${pairs.length}\r`);
          return r;
        });
        process.stderr.write("\n");
        const verdicts: (Outcome | null)[] = results.map((r) => (r.winner === null ? null : r.winner === "first" ? "weak" : r.winner === "second" ? "strong" : "tie"));
        const a = agreementOf(truth, verdicts);
        const cost = results.reduce((s, r) => s + r.costNanoUsd, 0);
        // Position bias: the two orders named different winners (the verdict became a tie).
        const readable = results.filter((r) => parsePreference(r.verdicts[0]) !== null && parsePreference(r.verdicts[1]) !== null);
        const flipped = readable.filter((r) => {
          const a = parsePreference(r.verdicts[0]), b = parsePreference(r.verdicts[1]);
          const first = a === "a" ? "first" : a === "b" ? "second" : "tie";
          const second = b === "a" ? "second" : b === "b" ? "first" : "tie";
          return first !== second;
        }).length;
        printed.push(line(`llm (${model.id})${real ? "" : " EMULATOR"}`, a));
        out.llm = {
          ...summary(a), undecided: a.undecided, provider: real ? model.provider : "emulator", model: model.id, calls: results.length * 2, cost_usd: cost / 1e9,
          order_disagreement: readable.length ? round(flipped / readable.length) : null,
          ...(real ? {} : { note: "measured against the provider emulator, which is not a model: these figures say nothing about a judge" }),
        };
      } finally {
        await providers.close();
      }
    }
  }

  process.stdout.write(`judge agreement with recorded scores (3-way: strong better / weak better / tie; Wilson 95% interval)\n${printed.join("\n")}\n`);
  process.stdout.write(`${JSON.stringify({ judges: out, baselines, rows: pairs.length, outcomes: dist, skipped, files, seed: o.seed })}\n`);
}

program.action(async (o: Opts) => {
  try {
    await main(o);
  } catch (err) {
    process.stderr.write(`eval:judge: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
});
await program.parseAsync();
