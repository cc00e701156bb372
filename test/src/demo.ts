/**
 * `npm run demo`: the whole product on this machine. Starts the local stack if needed, runs the
 * pipeline services, sends a realistic workload (a shipped sample of BANKING77 customer-support
 * queries and XQuAD knowledge-base questions, four use cases, three tenants), waits for every
 * response and prints the per-use-case cost table from ClickHouse.
 */
import path from "node:path";
import cliProgress from "cli-progress";
import { ensureStack, loadStackEnv, pipelineServices, repoRoot, spawnService, stopPipelineService, waitHealthy, type SpawnedService } from "@costwise/infra";
import { topics, type LlmResponse } from "@costwise/schemas";
import { PipelineClient } from "./client.ts";
import { clickhouse, DB, waitForCalls } from "./harness.ts";
import { renderCostTable, useCaseCosts } from "./report.ts";
import { sampleWorkload } from "./workload.ts";

const N = Number(process.env.DEMO_REQUESTS ?? 400);

async function main(): Promise<void> {
  console.log("costwise demo\n\n1/5 local stack (Kafka, schema registry, Redis, ClickHouse, provider emulator)");
  await ensureStack({ log: (line: string) => console.log(`    ${line}`) });
  const env = loadStackEnv();
  if (env.EMULATOR_URL) {
    // Real models agree on most routine requests; let the emulated ones too, so shadow checks of the
    // cheap routes measure something like real agreement instead of pinning every route to the frontier.
    await fetch(`${env.EMULATOR_URL}/_emulator/config`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ modelAgreement: 0.9 }) });
  }

  console.log(`2/5 pipeline services: ${pipelineServices.map((s) => s.name).join(", ")} (logs in .costwise/logs/demo-*.log)`);
  const running: SpawnedService[] = [];
  const stopAll = async () => { await Promise.all(running.map((s) => stopPipelineService(s))); };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  try {
    for (const s of pipelineServices) {
      // Short batch windows so the demo's BATCH use case comes back within the demo (defaults: 60 s, 5 s).
      const svc = spawnService(s.name, { ...env, LOG_LEVEL: "info", BATCH_MAX_AGE_MS: "5000", BATCH_POLL_INITIAL_MS: "1000", BATCH_POLL_MAX_MS: "3000" }, { logFile: path.join(repoRoot, ".costwise/logs", `demo-${s.name}.log`) });
      running.push(svc);
    }
    await Promise.all(running.map((s) => waitHealthy(s)));

    const run = `demo-${new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14)}`;
    const requests = sampleWorkload(N, run);
    const client = await PipelineClient.connect(env as { KAFKA_BROKERS: string; SCHEMA_REGISTRY_URL: string });
    const got = new Map<string, LlmResponse>();
    await client.subscribe<LlmResponse>(topics.responses, (r) => { if (r.request_id.startsWith(run)) got.set(r.request_id, r); });

    console.log(`3/5 producing ${requests.length} requests to ${topics.requests.name} (run ${run})`);
    const bar = new cliProgress.SingleBar({ format: "    responses |{bar}| {value}/{total}  {duration}s", hideCursor: true }, cliProgress.Presets.shades_classic);
    bar.start(requests.length, 0);
    await client.produce(requests);
    await PipelineClient.waitFor(requests.map((r) => r.request_id), got, 300_000, (n) => bar.update(n));
    bar.stop();
    const errors = [...got.values()].filter((r) => r.status === "ERROR").length;
    console.log(`4/5 all ${got.size} responses received (${errors} errors); waiting for the cost records in ClickHouse`);
    const ch = clickhouse(env);
    await waitForCalls(ch, requests.map((r) => r.request_id), 120_000);

    console.log(`5/5 cost per use case, from ${DB}.llm_calls:\n`);
    console.log(renderCostTable(await useCaseCosts(ch, DB, run)));
    console.log(`\nQuery it yourself: clickhouse-client --port 19000 -q "SELECT use_case, sum(cost_nanousd)/1e9 AS usd FROM ${DB}.llm_calls FINAL GROUP BY use_case"`);
    console.log("The stack keeps running (npm run stack:down stops it).");
    await ch.close();
    await client.close();
  } finally {
    await stopAll();
  }
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
