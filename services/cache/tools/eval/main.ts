/**
 * `npm run eval:cache -- --data <jsonl> [--data <jsonl> ...]`: how often the cache serves and how
 * often what it serves is wrong, through the real engine, index, guard and decision rule, on cache
 * datasets streamed in shuffled order (several seeds; `--order file` keeps the file's order).
 * For each dataset and embedding model it prints, per error bound δ and for fixed-threshold
 * baselines: served-from-cache rate (exploration calls count as model calls), wrong / hits, the
 * calls spent on verification, and lookup p50/p99; the worst seed and the range over seeds. The
 * last stdout line is one JSON object with the worst seed of the method that ships (the `--policy`
 * use case, else the first δ) per dataset. `--doc` writes the tables into a markdown file between
 * `<!-- eval:cache:<label> -->` markers, keeping the prose around them.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { embeddingModelSpec, ensureEmbeddingModel } from "@costwise/infra";
import { localEmbedder, type Embedder } from "@costwise/embeddings";
import Table from "cli-table3";
import { Command, InvalidArgumentError } from "commander";
import { normalizeText } from "../../src/key.ts";
import { DEFAULT_POLICY_FILE, loadPolicies, useCasePolicySchema, type UseCasePolicy } from "../../src/policy.ts";
import { DEFAULT_EMBEDDING_MODEL } from "../../src/config.ts";
import { embeddingAnswerVerifier } from "../../src/verifier.ts";
import {
  embedQueries, evaluatePass, inSplit, warmStartEvidence, measureVerifier, readRows, shuffled, summarize, summaryLine,
  type CacheRow, type EmbeddedQueries, type Method, type PassResult, type SeedSummary, type Split,
} from "./run.ts";

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));
const numbers = (lo: number, hi: number, what: string) => (v: string) =>
  v.split(",").map((x) => {
    const n = Number(x);
    if (!(n > lo && n <= hi)) throw new InvalidArgumentError(`'${x}' is not ${what}`);
    return n;
  });
const collect = (v: string, prev: string[]) => [...prev, v];

const program = new Command("eval:cache")
  .description("Served-from-cache rate and wrong answers per hit of the cache on cache datasets, per error bound δ, in shuffled order")
  .requiredOption("--data <jsonl>", "a cache dataset (fields text, intent, is_oos, dataset); repeat for several", collect, [] as string[])
  .option("--seeds <k>", "shuffles (seeds 1..k); the worst seed is reported", (v) => Number.parseInt(v, 10), 3)
  .option("--order <order>", "shuffled, or file (the file's order, one pass)", "shuffled")
  .option("--policy <use case>", "evaluate exactly this use case of the policy file (its δ is the one reported on the last line)")
  .option("--policy-file <file>", "policy file for --policy", DEFAULT_POLICY_FILE)
  .option("--delta <list>", "error bounds δ (max_wrong_rate) to evaluate", numbers(0, 0.2, "a rate in (0, 0.2]"), [0.01, 0.02, 0.05])
  .option("--baselines <list>", "fixed cosine thresholds shown next to the method (no error bound)", numbers(0, 1, "a similarity in (0, 1]"), [0.875, 0.95])
  .option("--model <list>", "embedding models to compare (all-MiniLM-L6-v2, bge-small-en-v1.5-q, e5-small-v2-q)", (v) => v.split(","), [DEFAULT_EMBEDDING_MODEL])
  .option("--split <split>", "all rows, or one half of the intent groups: tune | report (see run.ts)", "all")
  .option("--limit <n>", "first n rows of each file only (before shuffling)", (v) => Number.parseInt(v, 10))
  .option("--verifier-data <jsonl>", "rows with reference_response answers: measure how often the embedding judge agrees with the labels")
  .option("--verifier-min-cosine <list>", "answer cosines the embedding judge is measured at", numbers(0, 1, "a cosine in (0, 1]"), [0.8, 0.85, 0.9])
  .option("--calibrate-from <jsonl>", "warm start: seed each δ pass's calibration from these labelled rows first (as `npm run cache -- calibrate` does); must not be the evaluated rows")
  .option("--calibrate-split <split>", "which half of --calibrate-from seeds: all | tune | report", "all")
  .option("--doc <md>", "write the tables into this markdown file between <!-- eval:cache:<label> --> markers")
  .option("--doc-label <label>", "marker label for --doc", "main")
  .parse();

const opts = program.opts<{
  data: string[]; seeds: number; order: string; policy?: string; policyFile: string; delta: number[]; baselines: number[]; model: string[];
  split: string; limit?: number; verifierData?: string; verifierMinCosine: number[]; doc?: string; docLabel: string;
  calibrateFrom?: string; calibrateSplit: string;
}>();

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const ms = (x: number) => x.toFixed(2);
const thr = (t: number) => (t > 1 ? "none" : t.toFixed(3));
const range = (lo: number, hi: number) => (lo === hi ? pct(lo) : `${pct(lo)}–${pct(hi)}`);
const progress = (msg: string) => process.stderr.write(`[eval:cache] ${msg}\n`);

interface Block {
  readonly title: string;
  readonly head: string[];
  readonly rows: string[][];
}

function render(b: Block): { text: string; markdown: string } {
  const t = new Table({ head: b.head, style: { head: [], border: [] } });
  t.push(...b.rows);
  const md = [`| ${b.head.join(" | ")} |`, `| ${b.head.map(() => "---").join(" | ")} |`, ...b.rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
  return { text: `${b.title}\n${t.toString()}`, markdown: `${b.title}\n\n${md}` };
}

function methods(): { shipped: Method; all: Method[] } {
  let base: UseCasePolicy = useCasePolicySchema.parse({ mode: "semantic", max_wrong_rate: opts.delta[0] });
  if (opts.policy) {
    const p = loadPolicies(opts.policyFile);
    const uc = p.useCases[opts.policy];
    if (!uc) throw new Error(`no use case '${opts.policy}' in ${opts.policyFile} (has: ${Object.keys(p.useCases).join(", ")})`);
    if (uc.mode !== "semantic") throw new Error(`use case '${opts.policy}' is ${uc.mode}, not semantic: nothing to evaluate`);
    base = uc;
  }
  // A δ row identical to the shipped method would only repeat it.
  const sameAsBase = (d: number) => base.max_wrong_rate === d || opts.policy === undefined;
  const withDelta = (d: number): Method => ({ name: `δ=${d}`, policy: { ...base, max_wrong_rate: d, threshold: undefined } });
  const shipped: Method = opts.policy
    ? { name: base.max_wrong_rate !== undefined ? `${opts.policy} (δ=${base.max_wrong_rate})` : `${opts.policy} (fixed ${base.threshold})`, policy: base }
    : withDelta(opts.delta[0]!);
  const deltas = opts.delta.filter((d) => !(shipped.policy.max_wrong_rate === d && shipped.policy.threshold === undefined && sameAsBase(d))).map(withDelta);
  const fixed = opts.baselines.map((t): Method => ({ name: `fixed ${t}`, policy: { ...base, threshold: t, max_wrong_rate: undefined } }));
  return { shipped, all: [shipped, ...deltas, ...fixed] };
}

async function loadEmbedder(model: string): Promise<Embedder> {
  const spec = embeddingModelSpec(model);
  const dir = await ensureEmbeddingModel(undefined, { model: spec.name });
  return localEmbedder({ modelDir: dir, threads: 1 });
}

async function main() {
  for (const f of [...opts.data, ...(opts.verifierData ? [opts.verifierData] : [])]) if (!existsSync(f)) throw new Error(`no such dataset: ${f}`);
  if (!["shuffled", "file"].includes(opts.order)) throw new Error(`--order must be shuffled or file, not ${opts.order}`);
  if (!["all", "tune", "report"].includes(opts.split)) throw new Error(`--split must be all, tune or report, not ${opts.split}`);
  if (!["all", "tune", "report"].includes(opts.calibrateSplit)) throw new Error(`--calibrate-split must be all, tune or report, not ${opts.calibrateSplit}`);
  if (opts.calibrateFrom && !existsSync(opts.calibrateFrom)) throw new Error(`no such dataset: ${opts.calibrateFrom}`);
  const split = opts.split as Split;
  const seeds = opts.order === "file" ? [0] : Array.from({ length: opts.seeds }, (_, i) => i + 1);
  const { shipped, all } = methods();
  const blocks: Block[] = [];
  const shippedPerFile: Record<string, SeedSummary> = {};
  const cacheDir = path.join(repoRoot, ".costwise", "eval-cache");

  const lines = [
    `order: ${opts.order === "file" ? "file order" : `shuffled, seeds ${seeds.join(", ")}`}; rows: ${split === "all" ? "all" : `intent groups of the '${split}' half`}; ` +
      "verifier: the labels (a near miss or exploration is judged interchangeable when both queries have the same intent and neither is out of scope); " +
      "exploration calls are model calls, not hits; lookup = embedding (one query per call) + store + index + guard + decision." +
      (opts.calibrateFrom ? ` Warm start: each δ pass's calibration is first seeded from ${path.basename(path.dirname(opts.calibrateFrom))}/${path.basename(opts.calibrateFrom)} (${opts.calibrateSplit === "all" ? "all rows" : `'${opts.calibrateSplit}' intents`}), as \`npm run cache -- calibrate\` does.` : ""),
  ];
  process.stdout.write(`${lines[0]}\n`);

  for (const model of opts.model) {
    const embedder = await loadEmbedder(model);
    try {
      for (const file of opts.data) {
        const fileRows = readRows(file).slice(0, opts.limit ?? Infinity);
        const rows = inSplit(fileRows, split);
        const dataset = fileRows[0]?.dataset ?? (path.basename(path.dirname(file)) || path.basename(file));
        progress(`${dataset} (${model}): embedding ${rows.length} queries`);
        const queries = await embedQueries(rows.map((r) => normalizeText(r.text)), embedder, cacheDir);
        let warm: { rows: CacheRow[]; queries: EmbeddedQueries } | null = null;
        if (opts.calibrateFrom) {
          const seedRows = inSplit(readRows(opts.calibrateFrom), opts.calibrateSplit as Split);
          const evaluated = new Set(rows.map((r) => normalizeText(r.text)));
          const overlap = seedRows.filter((r) => evaluated.has(normalizeText(r.text))).length;
          if (overlap > seedRows.length / 10) throw new Error(`--calibrate-from shares ${overlap} of ${seedRows.length} queries with the evaluated rows: a warm start from the evaluated traffic flatters`);
          progress(`warm start from ${opts.calibrateFrom} (${opts.calibrateSplit}): embedding ${seedRows.length} queries`);
          warm = { rows: seedRows, queries: await embedQueries(seedRows.map((r) => normalizeText(r.text)), embedder, cacheDir) };
        }
        const summaries: SeedSummary[] = [];
        for (const m of all) {
          const passes: PassResult[] = [];
          for (const seed of seeds) {
            const ordered = opts.order === "file" ? rows : shuffled(rows, seed);
            const calibrationSeed = warm && m.policy.max_wrong_rate !== undefined ? warmStartEvidence(shuffled(warm.rows, seed + 1000), warm.queries, m.policy).evidence : undefined;
            passes.push(await evaluatePass({ rows: ordered, method: m, seed, embedder, queries, ...(calibrationSeed ? { calibrationSeed } : {}) }));
          }
          const s = summarize(passes);
          summaries.push(s);
          progress(`${dataset} ${model} ${m.name}: served ${range(s.hitRateMin, s.hitRateMax)}, wrong/hits ≤ ${pct(s.wrongPerHitMax)}`);
          if (m === shipped && model === opts.model[0]) shippedPerFile[dataset] = s;
        }
        const block: Block = {
          title: `#### ${dataset}, ${model} (${rows.length} queries${split === "all" ? "" : `, '${split}' intents`})`,
          head: ["method", "served (worst seed)", "served range", "wrong / hits (worst seed)", "wrong / hits range", "explorations", "verifications", "learned threshold at end (agree·differ·single)", "lookup p50 ms", "lookup p99 ms"],
          rows: summaries.map((s) => [
            s.method, pct(s.hitRateMin), range(s.hitRateMin, s.hitRateMax), pct(s.wrongPerHitMax), range(s.wrongPerHitMin, s.wrongPerHitMax),
            String(s.explorationsMax), String(s.verificationsMax),
            s.finalThresholds.every((t) => t === null) ? "—" : s.finalThresholds.map((t) => (t === null ? "none" : `${thr(t.agree)}·${thr(t.differ)}·${thr(t.single)}`)).join(" / "),
            ms(s.lookupP50), ms(s.lookupP99),
          ]),
        };
        blocks.push(block);
        process.stdout.write(`\n${render(block).text}\n`);
      }
      if (opts.verifierData) {
        const rows = readRows(opts.verifierData);
        const vrows: string[][] = [];
        for (const c of opts.verifierMinCosine) {
          progress(`verifier agreement at cosine ${c}`);
          const r = await measureVerifier(rows, embeddingAnswerVerifier(embedder, c), 400, 1);
          vrows.push([String(c), String(r.pairs), pct(r.agree / r.pairs), `${r.falseAccept} of ${r.otherIntent}`, `${r.falseReject} of ${r.sameIntent}`]);
        }
        const block: Block = {
          title: `#### Production judge (answer embeddings, ${model}) against the labels: ${path.basename(path.dirname(opts.verifierData))} reference answers`,
          head: ["min answer cosine", "pairs", "agrees with labels", "accepts different intents", "rejects same intent"],
          rows: vrows,
        };
        blocks.push(block);
        process.stdout.write(`\n${render(block).text}\n`);
      }
    } finally {
      await embedder.close?.();
    }
  }

  if (opts.doc) {
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`;
    const cmd = `npm run eval:cache -- ${process.argv.slice(2).filter((a, i, xs) => a !== "--doc" && xs[i - 1] !== "--doc" && a !== "--doc-label" && xs[i - 1] !== "--doc-label").join(" ")}`;
    const label = opts.docLabel;
    const body = blocks.map((b) => render(b).markdown).join("\n\n");
    const block = `<!-- eval:cache:${label} -->\n_Generated on ${new Date().toISOString().slice(0, 10)} (${machine}) by \`${cmd}\`. ${lines[0]}_\n\n${body}\n<!-- /eval:cache:${label} -->`;
    const current = existsSync(opts.doc) ? readFileSync(opts.doc, "utf8") : "";
    const marked = new RegExp(`<!-- eval:cache:${label} -->[\\s\\S]*<!-- /eval:cache:${label} -->`);
    writeFileSync(opts.doc, marked.test(current) ? current.replace(marked, () => block) : `${current}${current ? "\n\n" : ""}${block}\n`);
    progress(`wrote ${opts.doc}`);
  }
  process.stdout.write(`\nshipped method on the last line: ${shipped.name}, ${opts.model[0]}\n${summaryLine(shippedPerFile)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`eval:cache failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
