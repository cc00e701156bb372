/**
 * The price of running TypeScript through tsx against the build output (`npm run build`): each
 * pipeline service started idle under both runtimes, one at a time, on the real stack: time to
 * ready and resident memory once ready (VmRSS after a settle, VmHWM, and the V8 heap in use).
 * Writes docs/benchmarks/runtime.md.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { readFile } from "node:fs/promises";
import { writeFileSync } from "node:fs";
import path from "node:path";
import Table from "cli-table3";
import { assertAllBuilt, ensureStack, freePort, loadStackEnv, pipelineServices, repoRoot, spawnService, stopPipelineService, waitHealthy, type ServiceRuntime } from "@costwise/infra";
import { runId } from "../harness.ts";

const SETTLE_MS = Number(process.env.BENCH_RUNTIME_SETTLE_MS ?? 5_000);
const SERVICES = ["cache", "router", "compression", "executor", "batch-accumulator", "distiller", "sink", "gateway"] as const;

async function memory(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
  return { rss: Math.round(kb("VmRSS") / 1024), hwm: Math.round(kb("VmHWM") / 1024) };
}

/** The V8 heap in use (prom-client's default metric): what of the RSS is JavaScript objects; the rest is code, native libraries and the ONNX session. */
async function heapUsedMb(metricsUrl: string): Promise<number> {
  const res = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const line = (await res.text()).split("\n").find((l) => l.startsWith("nodejs_heap_size_used_bytes"));
  return line ? Math.round(Number(line.trim().split(/\s+/).pop()) / 2 ** 20) : Number.NaN;
}

async function main() {
  assertAllBuilt();
  await ensureStack({ log: (l: string) => console.log(`  ${l}`) });
  const env = loadStackEnv();
  const rows: { name: string; runtime: ServiceRuntime; readyMs: number; rss: number; hwm: number; heap: number }[] = [];
  for (const name of SERVICES) {
    if (!pipelineServices.some((s) => s.name === name)) continue;
    for (const runtime of ["tsx", "dist"] as const) {
      const t0 = Date.now();
      const svc = spawnService(name, { ...env, LOG_LEVEL: "warn", COSTWISE_RUNTIME: runtime, GROUP_ID: runId(`bench-rt-${name}`) }, {
        logFile: path.join(repoRoot, ".costwise/logs", `bench-runtime-${name}.log`), metricsPort: await freePort(),
      });
      try {
        await waitHealthy(svc, 120_000);
        const readyMs = Date.now() - t0;
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        rows.push({ name, runtime, readyMs, ...(await memory(svc.child.pid!)), heap: await heapUsedMb(svc.metricsUrl) });
        console.log(`${name} (${runtime}): ready in ${readyMs} ms`);
      } finally {
        await stopPipelineService(svc);
      }
    }
  }
  const table = new Table({ style: { head: [], border: [] }, head: ["service", "runtime", "ready (ms)", "RSS idle (MB)", "peak RSS (MB)", "JS heap (MB)"] });
  for (const r of rows) table.push([r.name, r.runtime, r.readyMs, r.rss, r.hwm, r.heap]);
  console.log(`\n${table.toString()}`);
  const pair = (name: string) => [rows.find((r) => r.name === name && r.runtime === "tsx")!, rows.find((r) => r.name === name && r.runtime === "dist")!] as const;
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
  writeFileSync(path.join(repoRoot, "docs/benchmarks/runtime.md"), [
    "# Build output against tsx",
    "",
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${machine} (load average ${loadavg().map((l) => l.toFixed(1)).join(" / ")} at the end). Command: \`npm run bench -- runtime\`.`,
    `Each service started idle (no traffic), one at a time, under \`tsx\` (sources compiled at start) and \`dist\` (\`npm run build\`, \`node --conditions=compiled\`); memory read ${SETTLE_MS / 1000} s after /health said ready.`,
    "",
    "| service | ready tsx (ms) | ready dist (ms) | RSS idle tsx (MB) | RSS idle dist (MB) | peak tsx (MB) | peak dist (MB) | JS heap used dist (MB) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...SERVICES.filter((n) => rows.some((r) => r.name === n)).map((n) => {
      const [t, d] = pair(n);
      return `| ${n} | ${t.readyMs} | ${d.readyMs} | ${t.rss} | ${d.rss} | ${t.hwm} | ${d.hwm} | ${d.heap} |`;
    }),
    "",
  ].join("\n"));
  console.log("\nwritten to docs/benchmarks/runtime.md");
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
