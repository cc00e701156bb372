/**
 * `npm run drill [-- --only sigkill-executor,broker-restart] [--rate 40] [--seconds 8] [--replicas executor=2] [--keep-stack]`:
 * the fault drills against a private local stack (.costwise-drill, its own ports; the default stack
 * is never touched). The pipeline runs under the `npm start` supervisor; each drill sends a bounded,
 * paced load, breaks one thing while it runs, and then counts: sent, answered, duplicates, rows in
 * ClickHouse, latency. Any request without a response or a row fails the run (exit 1). The table is
 * printed as markdown (docs/reliability.md) and written to .costwise-drill/drill-results.json.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseReplicas, pipelineServices, pipelineSupervisor, planInstances, stopStack, type PipelineServiceSpec } from "@costwise/infra";
import { topics, type LlmResponse } from "@costwise/schemas";
import { PipelineClient } from "../client.ts";
import { clickhouse, countCalls, emulator, runId } from "../harness.ts";
import { DRILLS, drillRequests, invalidRequests, type DrillContext } from "./drills.ts";
import { peakRssMb } from "../bench/stats.ts";
import { runLoad } from "./load.ts";
import { DRILL_PORT_OFFSET, ensureDrillStack } from "./private-stack.ts";
import { renderTable, tally, type DrillResult } from "./tally.ts";

const CHAIN = ["cache", "router", "compression", "executor", "batch-accumulator", "sink"];

/** Settings of the drill's services: quick rebalances after a kill, short batch windows, a provider timeout the timeout drill exceeds. */
const SERVICE_ENV: Record<string, string> = {
  LOG_LEVEL: "info",
  SESSION_TIMEOUT_MS: "10000",
  BATCH_MAX_AGE_MS: "2000", BATCH_POLL_INITIAL_MS: "500", BATCH_POLL_MAX_MS: "2000",
  PROVIDER_TIMEOUT_MS: "3000",
};

const log = (line: string) => console.error(`[drill] ${line}`);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: "string" }, rate: { type: "string", default: "40" }, seconds: { type: "string", default: "8" }, replicas: { type: "string", default: "" }, "keep-stack": { type: "boolean", default: false } } });
  const only = values.only?.split(",").map((s) => s.trim()).filter(Boolean);
  const drills = only ? DRILLS.filter((d) => only.includes(d.name)) : DRILLS;
  if (only && drills.length !== only.length) throw new Error(`unknown drill in --only; drills: ${DRILLS.map((d) => d.name).join(", ")}`);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);

  log("private stack: starting or reusing (.costwise-drill)");
  const { config, env } = await ensureDrillStack((l) => log(`[stack] ${l}`));
  const table: PipelineServiceSpec[] = pipelineServices.map((s) => ({ ...s, metricsPort: s.metricsPort + DRILL_PORT_OFFSET }));
  const instances = planInstances(table, parseReplicas(values.replicas ?? "", table), CHAIN);
  const logDir = path.join(config.home, "logs", "services");
  const supervisor = pipelineSupervisor({ env: { ...env, ...SERVICE_ENV }, instances, log: (l) => log(`[supervisor] ${l}`), logDir });
  const emu = emulator(env.EMULATOR_URL!);
  await emu.clearFaults();
  await emu.config({ ttftMs: 20, perOutputTokenMs: 0 });
  process.on("exit", () => supervisor.killAll());
  process.once("SIGINT", () => void supervisor.stop().finally(() => process.exit(130)));
  const ch = clickhouse(env);
  const client = await PipelineClient.connect(env as { KAFKA_BROKERS: string; SCHEMA_REGISTRY_URL: string });
  const responses: { id: string; status: string; at: number }[] = [];
  const dead: string[] = [];
  const results: DrillResult[] = [];
  // Peak resident memory (VmHWM) per service over every drill and every restart: what the pods' memory requests are sized from.
  const peakRss = new Map<string, number>();
  const sampleMemory = async () => {
    for (const st of supervisor.states) {
      const mb = st.child?.pid ? await peakRssMb(st.child.pid) : undefined;
      if (mb !== undefined) peakRss.set(st.spec.service, Math.max(peakRss.get(st.spec.service) ?? 0, mb));
    }
  };
  const sampling = setInterval(() => void sampleMemory(), 2_000);
  sampling.unref();
  try {
    log(`pipeline: ${instances.map((i) => `${i.id} :${i.port}`).join(", ")} (logs in ${logDir})`);
    await supervisor.start();
    await client.subscribe<LlmResponse>(topics.responses, (r, meta) => responses.push({ id: r.request_id, status: r.status, at: meta.receivedAt }));
    await client.subscribe<Buffer>(topics.deadLetters, (_v, meta) => void (meta.key && dead.push(meta.key)), { raw: true });
    const ctx: DrillContext = { stack: config, supervisor, emu, client, log, loadSeconds: seconds };

    for (const drill of drills) {
      const id = runId(drill.name);
      const reqs = drillRequests(drill.workload, Math.round(rate * seconds), id);
      const invalid = drill.poison ? invalidRequests(id, 20) : [];
      const garbage = drill.poison ? Array.from({ length: 20 }, (_, i) => `${id}-garbage-${i}`) : [];
      // Invalid requests ride in the load, spread through it.
      const all = [...reqs];
      invalid.forEach((r, i) => all.splice(Math.floor(((i + 1) * all.length) / (invalid.length + 1)), 0, r));
      const sentAt = new Map<string, number>();
      const restartsBefore = supervisor.restarts;
      log(`${drill.name}: ${all.length} requests at ${rate}/s; ${drill.what}`);
      const t0 = Date.now();
      const load = runLoad({ client, requests: all, ratePerSec: rate, sentAt, log: (l) => log(`${drill.name}: ${l}`) });
      const fault = (async () => {
        await new Promise((r) => setTimeout(r, drill.faultAtMs));
        await drill.fault(ctx);
        for (const [i, key] of garbage.entries()) await client.produceRaw(key, Buffer.from(i % 2 ? `{"request_id":"${key}"}` : `\u0000\u0000\u0000\u0000\u0009 not avro ${i}`));
      })();
      await Promise.all([load, fault]);
      await drill.after?.(ctx);
      const ids = [...sentAt.keys()];
      // Wait until everything is answered and landed, or nothing moved for 90 s.
      let last = "";
      let lastChange = Date.now();
      let rows = 0;
      for (;;) {
        const answered = new Set(responses.filter((r) => sentAt.has(r.id)).map((r) => r.id)).size;
        rows = await countCalls(ch, ids, config.clickhouse.database).catch(() => rows);
        const deadSeen = garbage.filter((k) => dead.includes(k)).length;
        const state = `${answered}/${rows}/${deadSeen}`;
        if (state !== last) {
          last = state;
          lastChange = Date.now();
        }
        if ((answered === ids.length && rows === ids.length && deadSeen === garbage.length) || Date.now() - lastChange > 90_000) break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      await new Promise((r) => setTimeout(r, 2_000)); // late duplicates
      const result = tally(drill.name, {
        sentAt, rows, responses,
        expectErrors: new Set(invalid.map((r) => r.request_id)),
        ...(drill.poison ? { deadLettered: { expected: garbage.length, seen: garbage.filter((k) => dead.includes(k)).length } } : {}),
      }, (Date.now() - t0) / 1000);
      results.push(result);
      log(`${drill.name}: sent ${result.sent}, answered ${result.answered}, duplicates ${result.duplicates}, rows ${result.rows}, max latency ${((result.maxLatencyMs ?? 0) / 1000).toFixed(1)} s, restarts ${supervisor.restarts - restartsBefore}: ${result.failures.length ? `FAIL (${result.failures.join("; ")})` : "pass"}`);
    }
  } finally {
    await emu.clearFaults().catch(() => undefined);
    await client.close();
    await ch.close();
    await supervisor.stop();
    if (!values["keep-stack"]) {
      const { stopped } = await stopStack({ config });
      log(`private stack stopped (${stopped.join(", ")}); --keep-stack keeps it for the next run`);
    }
  }
  const out = path.join(config.home, "drill-results.json");
  clearInterval(sampling);
  const memory = Object.fromEntries([...peakRss].map(([k, v]) => [k, Math.round(v)]));
  writeFileSync(out, JSON.stringify({ rate, seconds, replicas: values.replicas, results, peakRssMiB: memory }, null, 2));
  console.log(`\n${renderTable(results)}\n\npeak RSS per service (MiB): ${Object.entries(memory).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  console.log(JSON.stringify({ drills: results.length, failed: results.filter((r) => r.failures.length > 0).map((r) => r.drill), results: out }));
  process.exit(results.some((r) => r.failures.length > 0) ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(`drill failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
