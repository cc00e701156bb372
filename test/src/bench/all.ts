/**
 * `npm run bench`: every benchmark in turn — the pipeline (throughput, overhead, memory), then each
 * service's own — each printing its tables and writing docs/benchmarks/<name>.md; then
 * docs/benchmarks.md is assembled from those files. `npm run bench -- router cache` runs a subset.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "@costwise/infra";

const suites: { name: string; entry: string; env?: Record<string, string>; nodeFlags?: string[] }[] = [
  { name: "pipeline-executor", entry: "test/src/bench/main.ts", env: { BENCH_PATH: "executor" } },
  { name: "pipeline", entry: "test/src/bench/main.ts" },
  { name: "replicas", entry: "test/src/bench/replicas.ts" },
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

const only = process.argv.slice(2);
const failed: string[] = [];
for (const suite of suites) {
  if (only.length > 0 && !only.includes(suite.name)) continue;
  if (!existsSync(path.join(repoRoot, suite.entry))) continue;
  console.log(`\n=== ${suite.name} (${suite.entry})`);
  const run = spawnSync(process.execPath, [...(suite.nodeFlags ?? []), "--import", "tsx", suite.entry], { cwd: repoRoot, stdio: "inherit", env: { ...process.env, ...suite.env } });
  if (run.status !== 0) failed.push(suite.name);
}

const dir = path.join(repoRoot, "docs/benchmarks");
const order = suites.map((s) => `${s.name}.md`);
const files = readdirSync(dir).filter((f) => f.endsWith(".md")).sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
const body = files.map((f) => readFileSync(path.join(dir, f), "utf8").trim().replace(/^# /, "## ").replace(/\n## /g, "\n### ")).join("\n\n");
writeFileSync(
  path.join(repoRoot, "docs/benchmarks.md"),
  `# Benchmarks\n\nAssembled by \`npm run bench\` from docs/benchmarks/*.md; each section says when and how it was measured.\nTargets are stated next to the figures; missed targets are marked as such.\n\n${body}\n`,
);
console.log(`\ndocs/benchmarks.md assembled from ${files.length} files${failed.length ? `; FAILED: ${failed.join(", ")}` : ""}`);
if (failed.length) process.exit(1);
