/**
 * `npm run bench -- replicas`: executor throughput with 1, 2 and 3 replicas in one consumer group,
 * at 200 ms provider latency (emulator), on the drill's private stack (the shared stack's groups are
 * never joined). Requests are produced at once to llm.requests.ready and counted on llm.responses;
 * throughput runs from the first produce to the last response. Two settings: the default
 * concurrency, and one in-flight limit per process (PARTITIONS_CONCURRENTLY=1, CONCURRENCY=8), the
 * case replicas exist for (a per-process limit such as a provider key's). Writes docs/benchmarks/replicas.md.
 */
import { writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import path from "node:path";
import { parseReplicas, pipelineServices, pipelineSupervisor, planInstances, repoRoot, type PipelineServiceSpec } from "@costwise/infra";
import { topics, type LlmResponse } from "@costwise/schemas";
import { KafkaTestClient } from "@costwise/stream-runtime/testing";
import { PipelineClient } from "../client.ts";
import { emulator, runId } from "../harness.ts";
import { drillRequests } from "../drill/drills.ts";
import { DRILL_PORT_OFFSET, ensureDrillStack } from "../drill/private-stack.ts";

const LATENCY_MS = 200;
const SETTINGS: { label: string; env: Record<string, string>; n: number }[] = [
  { label: "default (PARTITIONS_CONCURRENTLY=6, CONCURRENCY=64)", env: {}, n: Number(process.env.BENCH_REPLICAS_N ?? 3000) },
  { label: "per-process limit (PARTITIONS_CONCURRENTLY=1, CONCURRENCY=8)", env: { PARTITIONS_CONCURRENTLY: "1", CONCURRENCY: "8" }, n: Number(process.env.BENCH_REPLICAS_LIMITED_N ?? 900) },
];
const log = (l: string) => console.error(`[replicas] ${l}`);

async function main(): Promise<void> {
  const { env } = await ensureDrillStack((l) => log(`[stack] ${l}`));
  const emu = emulator(env.EMULATOR_URL!);
  await emu.clearFaults();
  await emu.config({ ttftMs: LATENCY_MS, perOutputTokenMs: 0 });
  const client = await PipelineClient.connect(env as { KAFKA_BROKERS: string; SCHEMA_REGISTRY_URL: string });
  const admin = KafkaTestClient.connect(env as { KAFKA_BROKERS: string; SCHEMA_REGISTRY_URL: string });
  const seen = new Map<string, number>();
  await client.subscribe<LlmResponse>(topics.responses, (r, meta) => void (seen.has(r.request_id) || seen.set(r.request_id, meta.receivedAt)));
  const table: PipelineServiceSpec[] = pipelineServices.map((s) => ({ ...s, metricsPort: s.metricsPort + DRILL_PORT_OFFSET }));
  const rows: string[] = [];
  try {
    for (const setting of SETTINGS) {
      let single: number | undefined;
      for (const replicas of [1, 2, 3]) {
        const run = runId(`replicas${replicas}`);
        const group = `costwise-executor-bench-${run}`;
        await admin.startGroupAtEnd(group, topics.ready);
        const instances = planInstances(table, parseReplicas(`executor=${replicas}`, table), ["executor"]);
        const supervisor = pipelineSupervisor({ env: { ...env, LOG_LEVEL: "warn", GROUP_ID: group, ...setting.env }, instances, log, logDir: path.join(repoRoot, ".costwise-drill", "logs", "bench") });
        try {
          await supervisor.start();
          // Every replica must own its partitions before the clock starts.
          await new Promise((r) => setTimeout(r, 3_000));
          const reqs = drillRequests("realtime", setting.n, run);
          const t0 = Date.now();
          await client.produce(reqs, 500, topics.ready);
          const deadline = Date.now() + 600_000;
          while (reqs.some((r) => !seen.has(r.request_id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
          const missing = reqs.filter((r) => !seen.has(r.request_id)).length;
          const last = Math.max(...reqs.map((r) => seen.get(r.request_id) ?? 0));
          const perSec = reqs.length / ((last - t0) / 1000);
          single ??= perSec;
          const line = `| ${setting.label} | ${replicas} | ${reqs.length} | ${perSec.toFixed(0)} | ${(perSec / single).toFixed(2)}× |${missing ? ` ${missing} missing` : ""}`;
          log(line);
          rows.push(line);
        } finally {
          await supervisor.stop();
        }
      }
    }
  } finally {
    await emu.config({ ttftMs: 0 }).catch(() => undefined);
    await client.close();
    await admin.close();
  }
  const la = loadavg().map((x) => x.toFixed(1)).join(" / ");
  const md = [
    "# Executor replicas",
    "",
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${cpus().length} × ${cpus()[0]?.model.trim() ?? "CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version} (load average ${la} at the end, the machine shared with other work), on the drill's private stack (Kafka, registry, Redis, ClickHouse, emulator on this machine).`,
    "Command: `npm run bench -- replicas` (test/src/bench/replicas.ts). Provider latency 200 ms (emulator `ttftMs`), requests produced at once to `llm.requests.ready` (6 partitions), replicas in one consumer group, throughput from the first produce to the last response.",
    "",
    "| setting | replicas | requests | responses/s | vs 1 replica |",
    "| --- | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
  ].join("\n");
  writeFileSync(path.join(repoRoot, "docs/benchmarks/replicas.md"), md);
  console.log(md);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(`replicas bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
