/**
 * `npm run eval:cache -- --data <jsonl> [--data <jsonl> ...]`: hit rate, wrong-hit rate and lookup
 * latency of the cache per similarity threshold (and guard setting) on cache datasets, through the
 * real engine, index and store. Prints a table per dataset; `--doc` also writes them into a markdown
 * file between `<!-- eval:cache -->` markers, keeping the prose around them.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import path from "node:path";
import { ensureEmbeddingModel } from "@costwise/infra";
import cliProgress from "cli-progress";
import Table from "cli-table3";
import { Command, InvalidArgumentError } from "commander";
import { Redis } from "ioredis";
import { localEmbedder } from "@costwise/embeddings";
import { normalizeText } from "../key.ts";
import { MemoryCacheStore } from "../memory-store.ts";
import { adminRedisOptions, RedisCacheStore } from "../redis-store.ts";
import type { CacheStore } from "../store.ts";
import { embedQueries, evaluatePass, hitRate, parseGuardVariant, percentile, readRows, wrongRate, type GuardVariant, type PassResult } from "./run.ts";

const list = (v: string) =>
  v.split(",").map((x) => {
    const n = Number(x);
    if (!(n > 0 && n <= 1)) throw new InvalidArgumentError(`'${x}' is not a similarity in (0, 1]`);
    return n;
  });
const collect = (v: string, prev: string[]) => [...prev, v];

const program = new Command("eval:cache")
  .description("Evaluate the cache's hit rate and wrong-hit rate per threshold on cache datasets")
  .requiredOption("--data <jsonl>", "a cache dataset (fields text, intent, is_oos); repeat for several", collect, [] as string[])
  .option("--thresholds <list>", "cosine similarity thresholds", list, [0.75, 0.8, 0.85, 0.875, 0.9, 0.925, 0.95])
  .option("--guard <spec>", "guard setting: all | none | kinds (number,id,...) | all,-kind; repeat to compare", collect, [] as string[])
  .option("--store <kind>", "memory, or redis (adds the real round trips to the latency)", "memory")
  .option("--redis <url>", "Redis for --store redis", process.env.REDIS_URL ?? "redis://127.0.0.1:16379")
  .option("--limit <n>", "first n rows of each file only", (v) => Number.parseInt(v, 10))
  .option("--doc <md>", "write the tables into this markdown file between <!-- eval:cache --> markers")
  .parse();

const opts = program.opts<{ data: string[]; thresholds: number[]; guard: string[]; store: string; redis: string; limit?: number; doc?: string }>();

interface DatasetResult {
  readonly name: string;
  readonly rows: number;
  readonly embedP50: number;
  readonly embedP99: number;
  readonly passes: PassResult[];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const ms = (x: number) => x.toFixed(2);

function table(d: DatasetResult): { text: string; markdown: string } {
  const head = ["threshold", "guard", "hit rate", "exact / semantic", "wrong hits", "wrong / hits", "guard refusals", "lookup p50 ms", "lookup p99 ms"];
  const rows = d.passes.map((p) => [
    p.threshold.toFixed(3), p.guard, pct(hitRate(p)), `${p.exactHits} / ${p.semanticHits}`, String(p.wrongHits), pct(wrongRate(p)),
    String(p.guardRefusals), ms(percentile(p.lookupMs, 50)), ms(percentile(p.lookupMs, 99)),
  ]);
  const t = new Table({ head, style: { head: [], border: [] } });
  t.push(...rows);
  const md = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
  return { text: t.toString(), markdown: md };
}

async function main() {
  for (const f of opts.data) if (!existsSync(f)) throw new Error(`no such dataset: ${f}`);
  const guards: GuardVariant[] = (opts.guard.length ? opts.guard : ["all", "none"]).map(parseGuardVariant);
  const modelDir = await ensureEmbeddingModel();
  const embedder = await localEmbedder({ modelDir, threads: 1 });

  let store: CacheStore;
  let close = async () => undefined as unknown;
  const prefix = `cw:eval:${process.pid}:${Date.now()}`;
  if (opts.store === "redis") {
    const clients = [0, 1, 2].map(() => new Redis(opts.redis, adminRedisOptions(5_000)));
    await Promise.all(clients.map((c) => c.connect()));
    store = new RedisCacheStore(clients[0]!, clients[1]!, clients[2]!, { prefix });
    close = async () => {
      // Leave nothing behind on a shared Redis.
      let cursor = "0";
      do {
        const [next, keys] = await clients[1]!.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = next;
        if (keys.length) await clients[1]!.unlink(...keys);
      } while (cursor !== "0");
      await Promise.all(clients.map((c) => c.quit()));
    };
  } else if (opts.store === "memory") {
    store = new MemoryCacheStore();
  } else {
    throw new Error(`--store must be memory or redis, not ${opts.store}`);
  }

  // Bars on a terminal; one line per step in logs (cli-progress draws nothing useful without a TTY).
  const bars = process.stderr.isTTY
    ? new cliProgress.MultiBar({ format: "  {name} |{bar}| {value}/{total}", clearOnComplete: true, stream: process.stderr }, cliProgress.Presets.shades_classic)
    : null;
  const track = (name: string, total: number) => {
    if (!bars) {
      process.stderr.write(`  ${name} (${total} queries)\n`);
      return { update: (_n: number) => undefined, done: () => undefined };
    }
    const bar = bars.create(total, 0, { name });
    return { update: (n: number) => bar.update(n), done: () => bars.remove(bar) };
  };
  const results: DatasetResult[] = [];
  try {
    for (const file of opts.data) {
      const name = path.basename(path.dirname(file)) || path.basename(file);
      const rows = readRows(file).slice(0, opts.limit ?? Infinity);
      const texts = rows.map((r) => normalizeText(r.text));
      const bar = track(`${name}: embedding`, rows.length);
      const queries = await embedQueries(texts, embedder, bar.update);
      bar.done();
      const embedTimes = [...queries.embedMs.values()];
      const passes: PassResult[] = [];
      for (const guard of guards) {
        for (const threshold of opts.thresholds) {
          const b = track(`${name} t=${threshold} guard=${guard.name}`, rows.length);
          passes.push(await evaluatePass({ rows, threshold, guard, store, embedder, queries, tenant: `${name}-${threshold}-${guard.name}-${Date.now()}`, onProgress: b.update }));
          b.done();
        }
      }
      const d: DatasetResult = { name, rows: rows.length, embedP50: percentile(embedTimes, 50), embedP99: percentile(embedTimes, 99), passes };
      results.push(d);
      process.stdout.write(`\n${name}: ${rows.length} queries; embedding (${embedder.name}, one query per call) p50 ${ms(d.embedP50)} ms, p99 ${ms(d.embedP99)} ms; store ${opts.store}\n${table(d).text}\n`);
    }
  } finally {
    bars?.stop();
    await close();
    await embedder.close?.();
  }

  if (opts.doc) {
    const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}`;
    const body = results
      .map((d) => `### ${d.name} (${d.rows} queries)\n\nEmbedding (${embedder.name}, one query per call): p50 ${ms(d.embedP50)} ms, p99 ${ms(d.embedP99)} ms. Store: ${opts.store}.\n\n${table(d).markdown}`)
      .join("\n\n");
    const block = `<!-- eval:cache -->\n_Generated by \`npm run eval:cache\` on ${new Date().toISOString().slice(0, 10)} (${machine})._\n\n${body}\n<!-- /eval:cache -->`;
    const current = existsSync(opts.doc) ? readFileSync(opts.doc, "utf8") : "";
    const marked = /<!-- eval:cache -->[\s\S]*<!-- \/eval:cache -->/;
    writeFileSync(opts.doc, marked.test(current) ? current.replace(marked, () => block) : `${current}${current ? "\n\n" : ""}${block}\n`);
    process.stderr.write(`wrote ${opts.doc}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`eval:cache failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
