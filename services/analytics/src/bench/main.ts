/**
 * Analytics benchmark: `tsx services/analytics/src/bench/main.ts` (BENCH_ROWS, default 10 million).
 * 1. Generates the rows server-side in a separate database `costwise_bench` (INSERT … SELECT FROM
 *    numbers(), all migrations applied, so the rollups fill as they would in production).
 * 2. Times `costwise report` over them: the queries in-process (rollup and exact), and the CLI as a
 *    process (what a user waits for, Node and tsx start-up included).
 * 3. Measures the sink's ingest rate: its own row mapping (`callRow`) and writer (`clickhouseWriter`)
 *    inserting cost records in its sub-batch size, into the same table with the rollups attached.
 * Prints a table and writes docs/benchmarks/analytics.md; drops costwise_bench at the end.
 */
import { execFile } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { ensureStack, loadStackEnv, migrate, repoRoot } from "@costwise/infra";
import { callRow, clickhouseWriter } from "@costwise/clickhouse-writer";
import Table from "cli-table3";
import { makeFilters } from "../filters.ts";
import { clickhouseQuery, type Scope } from "../queries.ts";
import { buildReport } from "../reports.ts";
import { grainFor } from "../source.ts";
import { generateCallsSql } from "./generate.ts";
import { syntheticRecords } from "./records.ts";

const DB = "costwise_bench";
const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const CHUNK = 1_000_000;
const INGEST_ROWS = Number(process.env.BENCH_INGEST_ROWS ?? 200_000);
const SUB_BATCH = 2_000; // the sink's SUB_BATCH_SIZE default
const REPORT_TARGET_MS = 1_000;
const INGEST_TARGET = 50_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function main(): Promise<void> {
  await ensureStack({ log: (l: string) => console.log(`  ${l}`) });
  const env = loadStackEnv();
  const ch = createClient({ url: env.CLICKHOUSE_URL, request_timeout: 600_000, log: { level: ClickHouseLogLevel.OFF } });
  const q = clickhouseQuery(ch);
  const load0 = loadavg()[0]!;
  try {
    await ch.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
    await migrate(ch, { database: DB });

    console.log(`generating ${ROWS.toLocaleString("en-US")} llm_calls rows in ${DB} (28 days, 5 tenants, 20 use cases)`);
    const end = new Date();
    let t0 = process.hrtime.bigint();
    for (let offset = 0; offset < ROWS; offset += CHUNK) {
      const rows = Math.min(CHUNK, ROWS - offset);
      await ch.command({ query: generateCallsSql({ database: DB, rows, offset, end, spanSeconds: 28 * 86_400, tenants: ["acme", "globex", "initech", "umbrella", "hooli"], useCases: 20 }) });
      process.stdout.write(`  ${(offset + rows).toLocaleString("en-US")}\r`);
    }
    const generateS = ms(t0) / 1000;
    // Let background merges of the fresh parts settle, as they would on a table that fills over weeks.
    for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
      const [m] = await q<{ n: string }>(`SELECT count() AS n FROM system.merges WHERE database = '${DB}'`);
      if (Number(m?.n) === 0) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    const [parts] = await q<{ raw: string; hourly: string; daily: string }>(
      `SELECT sumIf(rows, table = 'llm_calls') AS raw, sumIf(rows, table = '.inner.calls_hourly') AS hourly, sumIf(rows, table = '.inner.calls_daily') AS daily FROM system.parts WHERE database = '${DB}' AND active`,
    );

    // Report timings: the queries `costwise report` runs, in-process, warm.
    const now = new Date();
    const scope = (since: string, exact: boolean): Scope => {
      const filters = makeFilters({ since }, now);
      return { database: DB, mode: exact ? "exact" : "rollup", grain: grainFor(filters), filters };
    };
    const timeReport = async (s: Scope, runs: number) => {
      const out: number[] = [];
      let calls = 0;
      for (let i = 0; i < runs; i++) {
        t0 = process.hrtime.bigint();
        const r = await buildReport(q, s);
        out.push(ms(t0));
        calls = r.totals.calls;
      }
      return { median: median(out), min: Math.min(...out), calls };
    };
    console.log("timing costwise report");
    await buildReport(q, scope("30d", false)); // warm-up
    const report30 = await timeReport(scope("30d", false), 5);
    const report24h = await timeReport(scope("24h", false), 5);
    const report30tenant = await timeReport({ ...scope("30d", false), filters: { ...scope("30d", false).filters, tenant: "acme" } }, 5);
    const exact30 = await timeReport(scope("30d", true), 1);

    const bin = fileURLToPath(new URL("../../../cli/bin/costwise.js", import.meta.url));
    const cliRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      t0 = process.hrtime.bigint();
      await promisify(execFile)(process.execPath, [bin, "report", "--since", "30d"], { env: { ...process.env, ...env, CLICKHOUSE_DATABASE: DB }, maxBuffer: 64 << 20 });
      cliRuns.push(ms(t0));
    }
    t0 = process.hrtime.bigint();
    await promisify(execFile)(process.execPath, [bin, "--help"], { env: process.env });
    const startupMs = ms(t0);

    // Sink ingest: the sink's mapping and writer, one sub-batch per insert as its loop does, into
    // llm_calls with the rollups attached, and (to show what the rollups cost) without them.
    console.log(`sink ingest: ${INGEST_ROWS.toLocaleString("en-US")} cost records per run`);
    const records = syntheticRecords(INGEST_ROWS, Date.now());
    const ingest = async (database: string, batch: number, concurrency: number) => {
      const writer = clickhouseWriter(ch, database);
      const version = Date.now();
      t0 = process.hrtime.bigint();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = next; i < records.length; i = next) {
            next += batch;
            await writer.insert("llm_calls", records.slice(i, i + batch).map((r) => callRow(r, version)));
          }
        }),
      );
      return records.length / (ms(t0) / 1000);
    };
    // Fresh databases, with the 10M-row one dropped first: its background merges would otherwise
    // compete with the inserts being measured.
    await ch.command({ query: `DROP DATABASE IF EXISTS ${DB}` });
    const WITH = `${DB}_ingest`;
    const RAW = `${DB}_raw`;
    for (const db of [WITH, RAW]) {
      await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` });
      await migrate(ch, { database: db });
    }
    for (const v of ["cache_effectiveness", "route_effectiveness", "compression_effectiveness", "calls_hourly", "calls_daily"]) await ch.command({ query: `DROP TABLE IF EXISTS ${RAW}.${v}` });
    const variants: { batch: number; concurrency: number; rollups: number; raw: number }[] = [];
    try {
      for (const [batch, concurrency] of [[SUB_BATCH, 1], [SUB_BATCH, 3], [10_000, 1], [10_000, 3]] as const) {
        variants.push({ batch, concurrency, rollups: await ingest(WITH, batch, concurrency), raw: await ingest(RAW, batch, concurrency) });
      }
    } finally {
      for (const db of [WITH, RAW]) await ch.command({ query: `DROP DATABASE IF EXISTS ${db}` });
    }
    const best = Math.max(...variants.map((v) => v.rollups));
    const load1 = loadavg()[0]!;

    const table = new Table({ head: ["measure", "result", "target"], colAligns: ["left", "right", "right"] });
    const fmt = (n: number) => `${Math.round(n).toLocaleString("en-US")} ms`;
    const lines: [string, string, string][] = [
      [`generate ${ROWS.toLocaleString("en-US")} rows (INSERT … SELECT, rollups filling)`, `${generateS.toFixed(1)} s`, ""],
      ["report --since 30d (daily rollup), queries, median of 5", fmt(report30.median), `< ${fmt(REPORT_TARGET_MS)}`],
      ["report --since 30d --tenant acme, queries, median of 5", fmt(report30tenant.median), `< ${fmt(REPORT_TARGET_MS)}`],
      ["report --since 24h (hourly rollup), queries, median of 5", fmt(report24h.median), `< ${fmt(REPORT_TARGET_MS)}`],
      ["report --since 30d --exact (llm_calls FINAL), queries", fmt(exact30.median), "(no target)"],
      ["`costwise report --since 30d` as a process, median of 3", fmt(median(cliRuns)), ""],
      ["  of which Node + tsx start-up (`costwise --help`)", fmt(startupMs), ""],
      ...variants.map((v): [string, string, string] => [`sink ingest, ${v.batch}-row inserts, ${v.concurrency} in flight (and without rollups)`, `${Math.round(v.rollups).toLocaleString("en-US")} rows/s (${Math.round(v.raw).toLocaleString("en-US")})`, `>= ${INGEST_TARGET.toLocaleString("en-US")} rows/s`]),
    ];
    for (const l of lines) table.push(l);
    console.log(table.toString());

    const verdict = (ok: boolean) => (ok ? "met" : "**missed**");
    const md = `# Analytics benchmark

\`tsx services/analytics/src/bench/main.ts\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB,
ClickHouse ${(await q<{ v: string }>("SELECT version() AS v"))[0]?.v} (local stack), Node ${process.version}. Load average ${load0.toFixed(1)} at the start
and ${load1.toFixed(1)} at the end: ClickHouse, Kafka and the test suites of other services share the two cores, so the
figures vary from run to run.

Data: ${ROWS.toLocaleString("en-US")} synthetic \`llm_calls\` rows (${generateS.toFixed(0)} s to generate server-side) over 28 days, 5 tenants × 20 use cases,
with cache hits, routing, batching, compression and 1% errors; the rollups hold ${Number(parts?.hourly).toLocaleString("en-US")} hourly and
${Number(parts?.daily).toLocaleString("en-US")} daily rows for them.

| measure | result | target | |
| --- | ---: | ---: | --- |
| \`costwise report --since 30d\` (reads \`calls_daily\`), the report's queries, median of 5 | ${fmt(report30.median)} | < ${fmt(REPORT_TARGET_MS)} | ${verdict(report30.median < REPORT_TARGET_MS)} |
| the same for one tenant (\`--tenant acme\`) | ${fmt(report30tenant.median)} | < ${fmt(REPORT_TARGET_MS)} | ${verdict(report30tenant.median < REPORT_TARGET_MS)} |
| \`costwise report --since 24h\` (reads \`calls_hourly\`) | ${fmt(report24h.median)} | < ${fmt(REPORT_TARGET_MS)} | ${verdict(report24h.median < REPORT_TARGET_MS)} |
| \`costwise report --since 30d --exact\` (\`llm_calls FINAL\`, exact under replays) | ${fmt(exact30.median)} | none | |
| \`costwise report --since 30d\` as a process, median of 3 | ${fmt(median(cliRuns))} | | |
| of which Node + tsx start-up (\`costwise --help\`) | ${fmt(startupMs)} | | |
${variants.map((v) => `| sink ingest, ${v.batch.toLocaleString("en-US")}-row inserts, ${v.concurrency} in flight | ${Math.round(v.rollups).toLocaleString("en-US")} rows/s | ≥ ${INGEST_TARGET.toLocaleString("en-US")} rows/s | ${verdict(v.rollups >= INGEST_TARGET)} |`).join("\n")}

Sink ingest into \`llm_calls\` with no rollups attached, same runs, for comparison (rows/s):
${variants.map((v) => `${v.batch.toLocaleString("en-US")}-row inserts × ${v.concurrency}: ${Math.round(v.raw).toLocaleString("en-US")}`).join("; ")}.
Best with rollups: ${Math.round(best).toLocaleString("en-US")} rows/s (${verdict(best >= INGEST_TARGET)}); the sink's default is ${SUB_BATCH}-row sub-batches (\`SUB_BATCH_SIZE\`).

Notes.
- The report covers ${report30.calls.toLocaleString("en-US")} calls (30 days). It reads the rollups, which count every delivery; \`--exact\`
  reads \`llm_calls FINAL\` (one row per request whatever Kafka replayed), which on this machine costs the time above
  (docs/analytics.md, "Duplicates").
- The process time is what a user waits for; TypeScript runs through tsx (no build step), whose start-up dominates it.
- Ingest: \`callRow\` mapping, JSON encoding and \`clickhouseWriter.insert\` into \`llm_calls\` with the two rollups attached
  (every insert also writes them), records prepared beforehand. Kafka consumption and Avro decoding are measured by the
  pipeline benchmark (docs/benchmarks.md).
`;
    const file = path.join(repoRoot, "docs", "benchmarks", "analytics.md");
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, md);
    console.log(`wrote ${path.relative(repoRoot, file)}`);
  } finally {
    await ch.command({ query: `DROP DATABASE IF EXISTS ${DB}` }).catch(() => undefined);
    await ch.close();
  }
}

main().catch((err: unknown) => {
  console.error(`analytics benchmark failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
