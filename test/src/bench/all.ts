/**
 * `npm run bench`: every benchmark in turn — the pipeline (throughput, overhead, memory), then each
 * service's own — each printing its tables and writing docs/benchmarks/<name>.md; then
 * docs/benchmarks.md is assembled from those files. `npm run bench -- router cache` runs a subset;
 * `--quick` runs the whole path, the Kafka client comparison and the gateway comparison with smaller
 * samples (under 10 minutes).
 * The last line is one JSON object: path_rps, overhead_p50_ms, overhead_p99_ms (whole path at
 * 200 req/s), bare_hop_p50_ms, hops, exact_hit_p50_ms, semantic_rps, peer_overhead_p50_ms, rss_mb;
 * from the transport suite, transport_hop_p50_ms, transport_hop_p99_ms, transport_rps and
 * transport_produce_rps, each {kafkajs, platformatic, confluent, runtime_platformatic}.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "@costwise/infra";
import { loadStackEnv } from "@costwise/infra";
import { deleteNamespaceTopics } from "../namespace.ts";
import { clearSummaryParts, readSummary } from "./summary.ts";

/** A suite that hangs is stopped (SIGTERM) and counted as failed. */
const SUITE_TIMEOUT_MS = Number(process.env.BENCH_SUITE_TIMEOUT_MS ?? 45 * 60_000);
const QUICK_SUITES = ["pipeline", "transport", "gateway"];
/** Smaller samples for --quick; an explicitly set variable still wins. */
const QUICK_ENV: Record<string, string> = {
  BENCH_THROUGHPUT_N: "4000", BENCH_RATES: "50,200", BENCH_RATE_SECONDS: "8", BENCH_SEMANTIC_N: "1000",
  BENCH_EXACT_HIT_N: "100", BENCH_BARE_HOP_N: "300", BENCH_GATEWAY_N: "100", BENCH_GATEWAY_CONCURRENCY: "1",
  BENCH_TRANSPORT_HOP_N: "200", BENCH_TRANSPORT_TPUT_N: "5000", BENCH_TRANSPORT_ROUNDS: "1",
};

const suites: { name: string; entry: string; env?: Record<string, string>; nodeFlags?: string[] }[] = [
  { name: "pipeline-executor", entry: "test/src/bench/main.ts", env: { BENCH_PATH: "executor" } },
  { name: "pipeline", entry: "test/src/bench/main.ts" },
  { name: "transport", entry: "test/src/bench/transport.ts" },
  { name: "replicas", entry: "test/src/bench/replicas.ts" },
  { name: "runtime", entry: "test/src/bench/runtime.ts" },
  ...[
    ["cache", "services/cache/tools/bench/main.ts"],
    ["router", "services/router/tools/bench.ts"],
    ["compression", "services/compression/tools/bench/main.ts"],
    ["batch-accumulator", "services/batch-accumulator/tools/bench/main.ts"],
    ["distiller", "services/distiller/tools/bench/main.ts"],
    ["analytics", "services/analytics/src/bench/main.ts"],
    ["gateway", "test/src/bench/gateway.ts"],
  ].map(([name, entry]) => ({ name: name!, entry: entry! })),
]
  // The cache bench measures index memory after forced collections.
  .map((s) => (s.name === "cache" ? { ...s, nodeFlags: ["--expose-gc"] } : s));

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = quick ? QUICK_SUITES : args.filter((a) => !a.startsWith("--"));
const quickEnv = quick ? Object.fromEntries(Object.entries(QUICK_ENV).filter(([k]) => process.env[k] === undefined)) : {};
clearSummaryParts();
// The suites' own topics: a pipeline measured on the shared topics would also answer (and be slowed
// by) whatever else runs on the cluster, and theirs would answer the benchmark's requests.
const namespace = process.env.COSTWISE_TOPIC_NAMESPACE ?? `bench-${new Date().toISOString().replace(/[-:T.Z]/g, "").slice(0, 14)}.`;
process.env.COSTWISE_TOPIC_NAMESPACE = namespace;
const failed: string[] = [];
for (const suite of suites) {
  if (only.length > 0 && !only.includes(suite.name)) continue;
  if (!existsSync(path.join(repoRoot, suite.entry))) continue;
  console.log(`\n=== ${suite.name} (${suite.entry})`);
  const run = spawnSync(process.execPath, [...(suite.nodeFlags ?? []), "--import", "tsx", suite.entry], { cwd: repoRoot, stdio: "inherit", env: { ...process.env, ...quickEnv, ...suite.env }, timeout: SUITE_TIMEOUT_MS });
  if (run.error) console.error(`${suite.name}: ${run.error.message}`);
  if (run.status !== 0) failed.push(suite.name);
}

try {
  await deleteNamespaceTopics(loadStackEnv().KAFKA_BROKERS!, (line) => console.error(line));
} catch (err) {
  console.error(`the benchmark's topics (${namespace}*) were not deleted: ${err instanceof Error ? err.message : String(err)}`);
}

const dir = path.join(repoRoot, "docs/benchmarks");
// Hand-measured sections without a suite of their own follow the suite they belong to.
const order = suites.flatMap((s) => (s.name === "pipeline" ? ["pipeline.md", "pipeline-loop.md"] : [`${s.name}.md`]));
const files = readdirSync(dir).filter((f) => f.endsWith(".md")).sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
const body = files.map((f) => readFileSync(path.join(dir, f), "utf8").trim().replace(/^# /, "## ").replace(/\n## /g, "\n### ")).join("\n\n");
writeFileSync(
  path.join(repoRoot, "docs/benchmarks.md"),
  `# Benchmarks\n\nAssembled by \`npm run bench\` from docs/benchmarks/*.md; each section says when and how it was measured.\nTargets are stated next to the figures; missed targets are marked as such.\n\n${body}\n`,
);
console.log(`\ndocs/benchmarks.md assembled from ${files.length} files${failed.length ? `; FAILED: ${failed.join(", ")}` : ""}`);
const keys = ["path_rps", "overhead_p50_ms", "overhead_p99_ms", "bare_hop_p50_ms", "hops", "exact_hit_p50_ms", "semantic_rps", "semantic_cold_rps", "peer_overhead_p50_ms", "rss_mb", "transport_hop_p50_ms", "transport_hop_p99_ms", "transport_rps", "transport_produce_rps"];
const figures = readSummary();
// Every key is present (null when its suite did not run), so readers can rely on the shape.
console.log(JSON.stringify({ ...Object.fromEntries(keys.map((k) => [k, figures[k] ?? null])), ...figures, quick, failed }));
if (failed.length) process.exit(1);
