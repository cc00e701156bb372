/**
 * `npm run bench`: throughput and pipeline overhead of executor + sink on the real local stack,
 * with the provider emulator at zero latency, plus peak RSS per service. Prints tables and writes
 * docs/benchmarks.md. Not a test: numbers depend on the machine; targets are stated beside them.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import cliProgress from "cli-progress";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import Table from "cli-table3";
import { ensureStack, loadStackConfig, loadStackEnv, pipelineServices, repoRoot, spawnService, stopPipelineService, waitHealthy, type SpawnedService } from "@costwise/infra";
import { topics, type CostRecord, type LlmRequest, type LlmResponse, type TopicSpec } from "@costwise/schemas";
import { PipelineClient } from "../client.ts";
import { KafkaTestClient, type KafkaLibrary } from "@costwise/stream-runtime/testing";
import { DB, clickhouse, emulator, runId } from "../harness.ts";
import { sampleWorkload } from "../workload.ts";
import { Kafka, logLevel } from "kafkajs";
import { counterSum, cpuSeconds, histogramDelta, histogramQuantile, peakRssMb, percentile, readHistogram } from "./stats.ts";
import { writeSummaryPart } from "./summary.ts";
import { cpuProbeMs, modelProbeQps } from "./machine.ts";
import { localModelDir } from "@costwise/embeddings";

/** The services' Kafka client library (their KAFKA_CLIENT), which the load generator uses too. */
const KAFKA_CLIENT: KafkaLibrary = process.env.KAFKA_CLIENT === "platformatic" ? "platformatic" : "kafkajs";
const THROUGHPUT_N = Number(process.env.BENCH_THROUGHPUT_N ?? 20_000);
const RATES = (process.env.BENCH_RATES ?? "50,200,500").split(",").map(Number);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 15);

/**
 * BENCH_PATH=full (default): the whole real-time path from llm.requests. BENCH_PATH=executor: requests
 * produced straight to llm.requests.ready, through executor + sink only (the foundation's own figures).
 */
const EXECUTOR_ONLY = process.env.BENCH_PATH === "executor";
const CHAIN = EXECUTOR_ONLY ? (["executor", "sink"] as const) : (["cache", "router", "compression", "executor", "sink"] as const);
const INPUT = EXECUTOR_ONLY ? topics.ready : topics.requests;

/** Topic hops of the measured path: one per stage that consumes and produces. */
const HOPS = CHAIN.length - 1;
const EXACT_HIT_N = Number(process.env.BENCH_EXACT_HIT_N ?? 200);
const SEMANTIC_N = Number(process.env.BENCH_SEMANTIC_N ?? 4_000);
const BENCH_SEMANTIC_THRESHOLD = 0.9;
const BARE_HOP_N = Number(process.env.BENCH_BARE_HOP_N ?? 500);

/** Real-time requests; by default they skip the cache (the path whose overhead is measured). */
function workload(n: number, run: string, cache: "off" | "on" = "off") {
  const out = [];
  for (let k = 0; out.length < n; k++) {
    for (const r of sampleWorkload(n, `${run}-${k}`)) {
      if (r.latency_class !== "REALTIME") continue;
      out.push(cache === "off" ? { ...r, tags: { ...r.tags, cache: "off" } } : r);
      if (out.length === n) break;
    }
  }
  return out;
}

/**
 * The same ask in other words: a lead-in before the last user message. Not an exact repeat (the
 * cache's key is the text), and no detail added that the salient-detail guard would weigh.
 */
function reworded(r: LlmRequest): LlmRequest {
  const last = r.messages.map((m) => m.role).lastIndexOf("user");
  return { ...r, messages: r.messages.map((m, i) => (i === last && typeof m.content === "string" ? { ...m, content: `Quick question: ${m.content}` } : m)) };
}

/**
 * The shipped cache policy with a fixed similarity threshold where it states a bound on wrong
 * answers. That bound serves nothing until verified reuses have calibrated a threshold, and a
 * bench tenant is new every run: without this the semantic phase would time no semantic hit at
 * all. A speed setting only; no quality figure comes from it.
 */
function benchCachePolicy(): string {
  const doc = parseYaml(readFileSync(path.join(repoRoot, "services/cache/config/policy.yaml"), "utf8")) as { use_cases: Record<string, { mode?: string; max_wrong_rate?: number; threshold?: number }> };
  for (const p of Object.values(doc.use_cases)) {
    if (p.mode !== "semantic" || p.max_wrong_rate === undefined) continue;
    delete p.max_wrong_rate;
    p.threshold = BENCH_SEMANTIC_THRESHOLD;
  }
  const file = path.join(repoRoot, ".costwise/bench-cache-policy.yaml");
  // A fresh clone has no .costwise until something writes there.
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, stringifyYaml(doc));
  return file;
}

interface Timing { producedAt: number; respondedAt?: number; providerMs?: number; servedBy?: string }

async function main() {
  await ensureStack({ log: (l: string) => console.log(`  ${l}`) });
  const probeMs = cpuProbeMs();
  const probeQps = await modelProbeQps(localModelDir("bge-small-en-v1.5-q"));
  console.log(`machine, before the services started: a fixed single-thread loop took ${probeMs} ms; the cache's embedding model ran ${probeQps} queries/s on one thread (compare runs by these)`);
  const env = loadStackEnv();
  const emu = emulator(env.EMULATOR_URL!);
  await emu.clearFaults();
  await emu.config({ ttftMs: 0, perOutputTokenMs: 0 });

  // The real-time request path, every stage its own process; requests bypass the cache so each one
  // really goes through router, compression, executor (provider call) and sink.
  const services: SpawnedService[] = pipelineServices
    .filter((s) => (CHAIN as readonly string[]).includes(s.name))
    .map((s) => spawnService(s.name, { ...env, LOG_LEVEL: "warn", ...(s.name === "cache" ? { CACHE_POLICY_FILE: benchCachePolicy() } : {}) }, { logFile: path.join(repoRoot, ".costwise/logs", `bench-${s.name}.log`) }));
  process.once("exit", () => services.forEach((s) => s.child.kill("SIGTERM")));
  await Promise.all(services.map((s) => waitHealthy(s)));
  // The load generator reads and writes with the services' library, so a hop costs the same on both ends.
  const client = await PipelineClient.connect(env as { KAFKA_BROKERS: string; SCHEMA_REGISTRY_URL: string }, undefined, KAFKA_CLIENT);
  const timings = new Map<string, Timing>();
  await client.subscribe<LlmResponse>(topics.responses, (r, meta) => {
    const t = timings.get(r.request_id);
    if (t && t.respondedAt === undefined) {
      t.respondedAt = meta.receivedAt;
      t.servedBy = r.served_by;
    }
  });
  await client.subscribe<CostRecord>(topics.costRecords, (r) => {
    const t = timings.get(r.request_id);
    if (t) t.providerMs = r.stage_latency_ms.executor ?? 0;
  });
  const ch = clickhouse(env);

  // Warm-up: JIT, connections, schema ids.
  const warm = workload(300, runId("bench-warm"));
  for (const r of warm) timings.set(r.request_id, { producedAt: Date.now() });
  await client.produce(warm, 500, INPUT);
  await waitAll(warm.map((r) => r.request_id), timings, 60_000);

  // 0. The floor a Kafka pipeline cannot go under: one produce → consume hop with the same client library.
  console.log(`bare hop: ${BARE_HOP_N} messages produced and consumed one at a time`);
  const bare = await bareHop(env.KAFKA_BROKERS!, env.SCHEMA_REGISTRY_URL!, BARE_HOP_N);

  // 1. Sustained throughput: a backlog of N requests, drained as fast as the pipeline can.
  console.log(`\nthroughput: ${THROUGHPUT_N} requests through ${CHAIN.join(" → ")}`);
  const tputRun = runId("bench-tput");
  const backlog = workload(THROUGHPUT_N, tputRun);
  const bar = new cliProgress.SingleBar({ format: "  |{bar}| {value}/{total} responses" }, cliProgress.Presets.shades_classic);
  const t0 = Date.now();
  for (const r of backlog) timings.set(r.request_id, { producedAt: t0 });
  bar.start(backlog.length, 0);
  const producing = client.produce(backlog, 1_000, INPUT);
  await producing;
  const tProduced = Date.now();
  await waitAll(backlog.map((r) => r.request_id), timings, 600_000, (n) => bar.update(n));
  bar.stop();
  const tResponses = Date.now();
  let rowsCount = 0;
  for (const deadline = Date.now() + 300_000; (rowsCount = await countRows(ch, `${tputRun}-`)) < THROUGHPUT_N; ) {
    if (Date.now() > deadline) throw new Error(`only ${rowsCount} of ${THROUGHPUT_N} llm_calls rows arrived`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const tRows = Date.now();
  const tput = {
    produceS: (tProduced - t0) / 1000,
    responsesRps: THROUGHPUT_N / ((tResponses - t0) / 1000),
    rowsRps: THROUGHPUT_N / ((tRows - t0) / 1000),
    rows: rowsCount,
  };
  console.log(`  ${JSON.stringify(tput)}`);

  // 2. Overhead at fixed request rates.
  const rateRows: { rate: number; achieved: number; n: number; p50: number; p99: number; e2e50: number; e2e99: number }[] = [];
  const stageRows: ({ rate: number; service: string } & StageTimes)[] = [];
  const cpuRows: { rate: number; process: string; msPerRequest: number; share: number }[] = [];
  const processes = [...services.map((s) => ({ name: s.name, pid: s.child.pid! })), ...stackProcesses(), { name: "load generator (this bench)", pid: process.pid }];
  for (const rate of RATES) {
    const n = rate * RATE_SECONDS;
    const reqs = workload(n, runId(`bench-r${rate}`));
    console.log(`overhead at ${rate} requests/s for ${RATE_SECONDS} s (${n} requests)`);
    const settled = await settle(processes.filter((p) => p.pid !== process.pid));
    console.log(`  started once the stack was quiet: waited ${settled.waitedS} s, then ${Math.round(settled.share * 100)}% of the machine busy`);
    const before = await Promise.all(services.map((s) => scrape(s.metricsUrl)));
    const cpuBefore = await Promise.all(processes.map((p) => cpuSeconds(p.pid)));
    const start = Date.now();
    for (let i = 0; i < n; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const r = reqs[i]!;
      r.created_at = Date.now();
      timings.set(r.request_id, { producedAt: r.created_at });
      void client.produce([r], 1, INPUT);
    }
    const achieved = n / ((Date.now() - start) / 1000);
    await waitAll(reqs.map((r) => r.request_id), timings, 120_000);
    const cpuAfter = await Promise.all(processes.map((p) => cpuSeconds(p.pid)));
    const wallS = (Date.now() - start) / 1000;
    processes.forEach((p, i) => {
      const [a, b] = [cpuBefore[i], cpuAfter[i]];
      if (a !== undefined && b !== undefined) cpuRows.push({ rate, process: p.name, msPerRequest: Math.round(((b - a) * 1000 * 100) / n) / 100, share: (b - a) / (wallS * cpus().length) });
    });
    const rateCpu = cpuRows.filter((c) => c.rate === rate);
    console.log(`  CPU per request: ${rateCpu.map((c) => `${c.process} ${c.msPerRequest} ms`).join(", ")}; the machine was ${Math.round(100 * rateCpu.reduce((t, c) => t + c.share, 0))}% busy with these`);
    await new Promise((r) => setTimeout(r, 500));
    const e2e = reqs.map((r) => timings.get(r.request_id)!).map((t) => t.respondedAt! - t.producedAt);
    const overhead = reqs.map((r) => timings.get(r.request_id)!).map((t) => t.respondedAt! - t.producedAt - (t.providerMs ?? 0));
    rateRows.push({ rate, achieved, n, p50: percentile(overhead, 50), p99: percentile(overhead, 99), e2e50: percentile(e2e, 50), e2e99: percentile(e2e, 99) });
    const after = await Promise.all(services.map((s) => scrape(s.metricsUrl)));
    stageRows.push(...services.map((s, i) => ({ rate, service: s.name, ...stageTimes(before[i]!, after[i]!) })));
    for (const r of stageRows.filter((x) => x.rate === rate)) console.log(`  ${r.service}: input age mean ${r.ageMean} ms (p50 ≤ ${r.age50}), process mean ${r.processMean} ms, event-loop delay p99 ${r.loopP99} ms, max ${r.loopMax} ms`);
    // Printed as measured, so a later phase that fails does not take these figures with it.
    console.log(`  ${JSON.stringify(rateRows.at(-1))}`);
  }

  // 3. With the cache in the path: semantic lookups on every request (throughput), then exact hits.
  let semantic: { rps: number; coldRps: number; n: number; hits: number; semanticHits: number; embedP50: number; embedP99: number } | null = null;
  let exactHit: { p50: number; p99: number; n: number; hits: number } | null = null;
  if (!EXECUTOR_ONLY) {
    console.log(`semantic lookups: ${SEMANTIC_N} requests with the cache on (each embedded and looked up: asks of a first pass that taught the cache, in other words)`);
    // A tenant of its own per run: the cache lives in Redis across runs, and an earlier run's
    // entries would turn every lookup into a hit. The cache learns from answers, so a burst alone
    // would find nothing: a first pass teaches it (timed too: every lookup embedded, every one a
    // miss), then the same asks in other words are measured. Reworded, none is an exact repeat:
    // each is embedded and looked up, and a hit is a semantic one.
    const semRun = runId("bench-sem");
    const semWorkload = (pass: string) => workload(SEMANTIC_N, `${semRun}-${pass}`, "on").map((r) => ({ ...r, tenant: `${r.tenant}-${semRun}` }));
    const teach = semWorkload("teach");
    const cacheService = services.find((s) => s.name === "cache")!;
    const teachBefore = await scrape(cacheService.metricsUrl);
    const learnedBefore = counterSum(teachBefore, "costwise_cache_learned_total");
    for (const r of teach) timings.set(r.request_id, { producedAt: Date.now() });
    const t0 = Date.now();
    await client.produce(teach, 1_000, INPUT);
    await waitAll(teach.map((r) => r.request_id), timings, 600_000);
    const coldRps = teach.length / ((Date.now() - t0) / 1000);
    console.log(`  first pass (cold: every lookup a miss, then routed, executed and learned): ${coldRps.toFixed(0)} responses/s`);
    // The first pass's lookups run while its first answers are being learned: the query embedding's
    // time (with its wait for the model) shows whether lookups queue behind learning.
    const embedWait = histogramDelta(readHistogram(teachBefore, "costwise_cache_embed_seconds"), readHistogram(await scrape(cacheService.metricsUrl), "costwise_cache_embed_seconds"));
    if (embedWait.count > 0) console.log(`  first pass: ${embedWait.count} query embeddings, p50 ≤ ${histogramQuantile(embedWait, 50) * 1000} ms, p99 ≤ ${histogramQuantile(embedWait, 99) * 1000} ms (histogram bucket bounds; with the wait for the model)`);
    // Answers reach the caller before the cache has learned them (it reads llm.responses like any
    // consumer, in the same loop as its lookups): measure once it has, or lookups would be timed
    // behind learning.
    const untilLearned = async (pass: string, from: number, n: number) => {
      const answered = Date.now();
      let learned = false;
      while (!learned && Date.now() < answered + 120_000) {
        learned = counterSum(await scrape(cacheService.metricsUrl), "costwise_cache_learned_total") - from >= n;
        if (!learned) await new Promise((r) => setTimeout(r, 250));
      }
      const lag = ((Date.now() - answered) / 1000).toFixed(1);
      console.log(learned ? `  the cache had learned the ${pass} ${lag} s after its last answer` : `  the cache had not learned the ${pass} ${lag} s after its last answer: measuring anyway`);
    };
    await untilLearned("first pass", learnedBefore, teach.length);
    const sem = semWorkload("measure").map((r, i) => reworded({ ...r, messages: teach[i]!.messages }));
    const measureLearnedBefore = counterSum(await scrape(cacheService.metricsUrl), "costwise_cache_learned_total");
    const s0 = Date.now();
    for (const r of sem) timings.set(r.request_id, { producedAt: s0 });
    await client.produce(sem, 1_000, INPUT);
    await waitAll(sem.map((r) => r.request_id), timings, 600_000);
    const semHits = sem.filter((r) => (timings.get(r.request_id)!.servedBy ?? "").startsWith("CACHE")).length;
    const semanticHits = sem.filter((r) => timings.get(r.request_id)!.servedBy === "CACHE_SEMANTIC").length;
    if (semHits > semanticHits) console.log(`  ${semHits - semanticHits} of the hits were exact: a reworded question matched one asked in the same words`);
    semantic = { n: SEMANTIC_N, rps: SEMANTIC_N / ((Date.now() - s0) / 1000), coldRps, hits: semHits, semanticHits, embedP50: histogramQuantile(embedWait, 50) * 1000, embedP99: histogramQuantile(embedWait, 99) * 1000 };
    const semLatency = (hit: boolean) => sem.map((r) => timings.get(r.request_id)!).filter((t) => (t.servedBy ?? "").startsWith("CACHE") === hit).map((t) => t.respondedAt! - s0);
    for (const [label, xs] of [["hits", semLatency(true)], ["misses", semLatency(false)]] as const) {
      if (xs.length > 0) console.log(`  ${label}: ${xs.length}, answered after p50 ${percentile(xs, 50)} ms, p99 ${percentile(xs, 99)} ms, last ${Math.max(...xs)} ms from the first produce`);
    }

    // Hits are answered too (learned as served_by_cache, nothing stored): the cache has caught up
    // when every response of the pass has been considered.
    await untilLearned("measured pass", measureLearnedBefore, sem.length);
    const quiet = await settle(processes.filter((p) => p.pid !== process.pid));
    console.log(`exact hits: ${EXACT_HIT_N} repeats of answered requests, one at a time, once the stack was quiet (waited ${quiet.waitedS} s)`);
    const firsts = sem.slice(0, EXACT_HIT_N);
    const hits: number[] = [];
    let served = 0;
    for (const [i, first] of firsts.entries()) {
      const again = { ...first, request_id: `${first.request_id}-again-${i}`, created_at: Date.now() };
      timings.set(again.request_id, { producedAt: again.created_at });
      await client.produce([again], 1, INPUT);
      await waitAll([again.request_id], timings, 30_000);
      const t = timings.get(again.request_id)!;
      if ((t.servedBy ?? "").startsWith("CACHE")) {
        served++;
        hits.push(t.respondedAt! - t.producedAt);
      }
    }
    exactHit = { n: firsts.length, hits: served, p50: percentile(hits, 50), p99: percentile(hits, 99) };
  }

  const rss = await Promise.all(services.map(async (s) => ({ name: s.name, mb: await peakRssMb(s.child.pid!) })));
  await client.close();
  await ch.close();
  await Promise.all(services.map((s) => stopPipelineService(s)));

  const tTable = new Table({ style: { head: [], border: [] }, head: ["requests", "produce time (s)", "responses/s (sustained)", "llm_calls rows/s", "target"] });
  tTable.push([THROUGHPUT_N, tput.produceS.toFixed(1), tput.responsesRps.toFixed(0), tput.rowsRps.toFixed(0), "≥ 1,000 req/s"]);
  const oTable = new Table({ style: { head: [], border: [] }, head: ["rate (req/s)", "achieved", "requests", "overhead p50 (ms)", "overhead p99 (ms)", "end-to-end p50", "end-to-end p99", "target"] });
  for (const r of rateRows) oTable.push([r.rate, r.achieved.toFixed(0), r.n, r.p50, r.p99, r.e2e50, r.e2e99, r.rate === 200 ? "p50 ≤ 10, p99 ≤ 50" : ""]);
  const mTable = new Table({ style: { head: [], border: [] }, head: ["service", "peak RSS (MB)", "target"] });
  for (const r of rss) mTable.push([r.name, r.mb ?? "?", `≤ ${rssTargetMb(r.name)} MB`]);
  console.log(`\n${tTable.toString()}\n${oTable.toString()}\n${mTable.toString()}`);

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
  const md = [
    "# Benchmarks",
    "",
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${machine} (load average ${loadavg().map((l) => l.toFixed(1)).join(" / ")} at the end of the run; before the services started, a fixed single-thread loop took ${probeMs} ms and the cache's embedding model (bge-small-en-v1.5-q, one query per run) ran ${probeQps} queries/s on one thread: the host is shared and its speed changes from hour to hour, so compare runs by these), with Kafka, the schema registry, ClickHouse, Redis, the provider emulator (latency 0), the services and this load generator all on the same machine.`,
    "Command: `npm run bench` (env: BENCH_THROUGHPUT_N, BENCH_RATES, BENCH_RATE_SECONDS).",
    "",
    "## Throughput",
    "",
    EXECUTOR_ONLY
      ? `Path: requests produced to \`${INPUT.name}\` → executor → sink, each its own process: every request is executed against the emulator and written to ClickHouse. Responses/s is measured from the first produce to the last response consumed, rows/s to the last row visible in \`llm_calls\`.`
      : `Path: ${CHAIN.join(" → ")}, each its own process; requests bypass the cache (\`tags.cache = off\`) so every one is routed, compressed, executed against the emulator and written to ClickHouse. Responses/s is measured from the first produce to the last response consumed, rows/s to the last row visible in \`llm_calls\`.`,
    "",
    "| requests | responses/s sustained | llm_calls rows/s | target |",
    "| ---: | ---: | ---: | --- |",
    `| ${THROUGHPUT_N} | ${tput.responsesRps.toFixed(0)} | ${tput.rowsRps.toFixed(0)} | ≥ 1,000 req/s: ${tput.responsesRps >= 1000 ? "met" : "**missed**"} |`,
    "",
    "## Pipeline overhead",
    "",
    "Overhead = time from produce to response consumed, minus the provider call as the executor timed it.",
    "",
    "| rate (req/s) | achieved | requests | overhead p50 (ms) | overhead p99 (ms) | end-to-end p50 (ms) | end-to-end p99 (ms) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rateRows.map((r) => `| ${r.rate} | ${r.achieved.toFixed(0)} | ${r.n} | ${r.p50} | ${r.p99} | ${r.e2e50} | ${r.e2e99} |`),
    "",
    (() => {
      const r = rateRows.find((x) => x.rate === 200);
      return r ? `Target at 200 req/s: p50 ≤ 10 ms, p99 ≤ 50 ms: ${r.p50 <= 10 && r.p99 <= 50 ? "met" : "**missed**"} (p50 ${r.p50}, p99 ${r.p99}).` : "Target at 200 req/s: p50 ≤ 10 ms, p99 ≤ 50 ms (not run).";
    })(),
    "",
    "## Where the overhead goes",
    "",
    "Per stage and rate, from each service's own histograms over the run at that rate: input age is the time from the record's producer timestamp to this stage taking it (the hop before it: the upstream send queue, the broker and this consumer's fetch); process is the stage's own work per input. Means are exact; p50 and p99 are bucket upper bounds. Event-loop delay is how late the service's timers ran (prom-client's monitor): a stage whose loop is blocked takes its inputs late.",
    "",
    "| rate (req/s) | stage | inputs | input age mean (ms) | input age p50 / p99 (ms) | process mean (ms) | process p50 / p99 (ms) | event-loop delay p99 / max (ms) |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...stageRows.map((r) => `| ${r.rate} | ${r.service} | ${r.inputs} | ${r.ageMean} | ${r.age50} / ${r.age99} | ${r.processMean} | ${r.process50} / ${r.process99} | ${r.loopP99} / ${r.loopMax} |`),
    "",
    `CPU per request by process over the same runs (user + system time of every thread, from /proc, divided by the requests of the run; the share is of all cores over the run's wall time, from its first request to its last response). On a machine this size the path's latency is queueing for the CPU: what a stage spends here, every other stage waits for. Each rate starts once the stack is quiet (under ${QUIET_SHARE * 100}% of the machine over a second, waiting at most ${SETTLE_MAX_MS / 1000} s), so work a phase leaves behind (shadow judgements of a backlog, ClickHouse merges) is not billed to the next.`,
    "",
    "| rate (req/s) | process | CPU per request (ms) | share of the machine |",
    "| ---: | --- | ---: | ---: |",
    ...cpuRows.map((c) => `| ${c.rate} | ${c.process} | ${c.msPerRequest} | ${Math.round(c.share * 100)}% |`),
    ...RATES.map((rate) => {
      const rows = cpuRows.filter((c) => c.rate === rate);
      return `| ${rate} | **all of the above** | ${Math.round(rows.reduce((t, c) => t + c.msPerRequest, 0) * 100) / 100} | ${Math.round(rows.reduce((t, c) => t + c.share, 0) * 100)}% |`;
    }),
    "",
    "## Kafka hop, cache hits and semantic lookups",
    "",
    `A bare hop: one message produced (idempotent, acks from all replicas, as the runtime does) and consumed by ${KAFKA_CLIENT} (the services' library) on a one-partition topic, ${bare.n} in turn: p50 ${bare.p50} ms, p99 ${bare.p99} ms. The path has ${HOPS} hops; the overhead target's alternative bound is 2 × hops × bare hop p50 = ${2 * HOPS * bare.p50} ms.`,
    "",
    ...(EXECUTOR_ONLY
      ? []
      : [
          `Semantic lookups: ${semantic!.n} requests with the cache on, asking in other words what a first pass of ${semantic!.n} had asked, so none is an exact repeat and each is embedded and looked up (semantic use cases at a fixed similarity threshold of ${BENCH_SEMANTIC_THRESHOLD}: a fresh tenant's calibrated bound would serve nothing yet; a speed figure, not a quality one; ${semantic!.hits} answered from the cache, ${semantic!.semanticHits} of them semantic hits; the misses stored, routed and executed): ${semantic!.rps.toFixed(0)} responses/s sustained (target ≥ 600: ${semantic!.rps >= 600 ? "met" : "**missed**"}). The first pass itself, on a cold cache (every lookup embedded and a miss, then routed, executed and learned): ${semantic!.coldRps.toFixed(0)} responses/s; its queries' embeddings (with the wait for the model) took p50 ≤ ${semantic!.embedP50} ms and p99 ≤ ${semantic!.embedP99} ms (histogram bucket bounds).`,
          "",
          `Exact hits: ${exactHit!.n} repeats of answered requests, one at a time; ${exactHit!.hits} served from the cache, produce-to-response p50 ${exactHit!.p50} ms, p99 ${exactHit!.p99} ms (target p50 ≤ 3 ms: ${exactHit!.p50 <= 3 ? "met" : "**missed**"}).`,
          "",
        ]),
    `Services ran ${process.env.COSTWISE_RUNTIME === "dist" ? "the build output (\`npm run build\`, node --conditions=compiled)" : "the TypeScript sources through tsx"}.`,
    "",
    "## Peak memory per service (VmHWM)",
    "",
    "| service | peak RSS (MB) | target |",
    "| --- | ---: | --- |",
    ...rss.map((r) => `| ${r.name} | ${r.mb ?? "?"} | ≤ ${rssTargetMb(r.name)} MB: ${r.mb !== undefined && r.mb <= rssTargetMb(r.name) ? "met" : "**missed**"} |`),
    "",
  ].join("\n");
  const name = EXECUTOR_ONLY ? "pipeline-executor" : "pipeline";
  if (!EXECUTOR_ONLY) {
    const at200 = rateRows.find((x) => x.rate === 200);
    writeSummaryPart(name, {
      runtime: process.env.COSTWISE_RUNTIME ?? "tsx",
      kafka_client: KAFKA_CLIENT,
      path_rps: Math.round(tput.responsesRps),
      overhead_p50_ms: at200?.p50 ?? null,
      overhead_p99_ms: at200?.p99 ?? null,
      bare_hop_p50_ms: bare.p50,
      hops: HOPS,
      exact_hit_p50_ms: exactHit?.p50 ?? null,
      semantic_rps: semantic ? Math.round(semantic.rps) : null,
      semantic_cold_rps: semantic ? Math.round(semantic.coldRps) : null,
      machine_probe_ms: probeMs,
      machine_embed_qps: probeQps,
      rss_mb: Object.fromEntries(rss.map((r) => [r.name, r.mb ?? null])),
    });
  }
  writeFileSync(path.join(repoRoot, `docs/benchmarks/${name}.md`), md.replace("# Benchmarks", EXECUTOR_ONLY ? "# Executor + sink (from llm.requests.ready)" : "# Whole real-time path (from llm.requests)"));
  console.log(`\nwritten to docs/benchmarks/${name}.md`);
}

/**
 * Wait until the listed processes together use less than QUIET_SHARE of the machine over a second
 * (at most SETTLE_MAX_MS): a phase leaves work behind it (the router's shadow judgements of a
 * backlog, ClickHouse merging what the sink wrote), which would otherwise be billed to the next.
 */
const QUIET_SHARE = 0.25;
const SETTLE_MAX_MS = 60_000;
async function settle(processes: readonly { pid: number }[]): Promise<{ waitedS: number; share: number }> {
  const started = Date.now();
  const total = async () => (await Promise.all(processes.map((p) => cpuSeconds(p.pid)))).reduce<number>((t, c) => t + (c ?? 0), 0);
  for (;;) {
    const a = await total();
    await new Promise((r) => setTimeout(r, 1_000));
    const share = (await total()) - a;
    const shareOfMachine = share / cpus().length;
    if (shareOfMachine < QUIET_SHARE || Date.now() - started > SETTLE_MAX_MS) return { waitedS: Math.round((Date.now() - started) / 100) / 10, share: shareOfMachine };
  }
}

/** The stack's own processes when it runs natively here (their pid files); none under Docker. */
function stackProcesses(): { name: string; pid: number }[] {
  const dir = path.join(loadStackConfig().home, "run");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".pid"))
    .map((f) => ({ name: f.replace(/\.pid$/, ""), pid: Number(readFileSync(path.join(dir, f), "utf8").trim()) }))
    .filter((p) => Number.isInteger(p.pid) && p.pid > 0 && existsSync(`/proc/${p.pid}`));
}

async function scrape(metricsUrl: string): Promise<string> {
  const res = await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}

interface StageTimes { loopP99: number; loopMax: number; inputs: number; ageMean: number; age50: number; age99: number; processMean: number; process50: number; process99: number }

/** One stage's input age and process time over a run, from two /metrics readings (ms, rounded to 0.1). */
function stageTimes(before: string, after: string): StageTimes {
  const ms = (s: number) => Math.round(s * 10_000) / 10;
  const delta = (name: string) => histogramDelta(readHistogram(before, name), readHistogram(after, name));
  const age = delta("costwise_input_age_seconds");
  const proc = delta("costwise_process_seconds");
  // prom-client resets its event-loop delay monitor at each scrape: the reading after the run is the run's.
  const gauge = (name: string) => ms(Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(after)?.[1] ?? Number.NaN));
  return {
    loopP99: gauge("nodejs_eventloop_lag_p99_seconds"), loopMax: gauge("nodejs_eventloop_lag_max_seconds"),
    inputs: age.count,
    ageMean: ms(age.sum / age.count), age50: ms(histogramQuantile(age, 50)), age99: ms(histogramQuantile(age, 99)),
    processMean: ms(proc.sum / proc.count), process50: ms(histogramQuantile(proc, 50)), process99: ms(histogramQuantile(proc, 99)),
  };
}

/**
 * Produce → consume latency of one message at a time on a scratch topic, with the runtime's producer
 * settings and the services' client library (the same ports, through the tests' client).
 */
async function bareHop(brokers: string, registryUrl: string, n: number): Promise<{ n: number; p50: number; p99: number }> {
  const kafka = new Kafka({ clientId: "costwise-bench-hop", brokers: brokers.split(","), logLevel: logLevel.NOTHING });
  const topic: TopicSpec = { name: `${topics.requests.name}.bench-hop`, record: null, partitions: 1, key: "key", producedBy: [], consumedBy: [], doc: "bench scratch topic" };
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: topic.name, numPartitions: 1 }], waitForLeaders: true, timeout: 30_000 }).catch(() => undefined);
  await admin.disconnect();
  const client = KafkaTestClient.connect({ KAFKA_BROKERS: brokers, SCHEMA_REGISTRY_URL: registryUrl }, { clientId: "costwise-bench-hop", library: KAFKA_CLIENT });
  const run = runId("hop");
  const waiting = new Map<string, () => void>();
  const ms: number[] = [];
  try {
    // From the beginning: a new group starting at "latest" resolves that offset on its first fetch and
    // can miss the first message; keys of this run's own tell its messages from any older ones.
    await client.subscribe(topic, (r) => waiting.get(r.key ?? "")?.(), { raw: true, fromBeginning: true, groupId: runId("bench-hop") });
    for (let i = 0; i < n + 20; i++) {
      const key = `${run}-${i}`;
      const got = new Promise<void>((resolve) => waiting.set(key, resolve));
      const t = performance.now();
      await client.produceRaw(topic, key, Buffer.from("x".repeat(200)));
      await Promise.race([got, new Promise((_, reject) => setTimeout(() => reject(new Error("bare hop: no message after 10 s")), 10_000))]);
      if (i >= 20) ms.push(performance.now() - t); // the first few warm up connections and fetch sessions
      waiting.delete(key);
    }
  } finally {
    await client.close();
    await admin.connect().then(() => admin.deleteTopics({ topics: [topic.name], timeout: 30_000 })).catch(() => undefined).finally(() => admin.disconnect());
  }
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n, p50: r(percentile(ms, 50)), p99: r(percentile(ms, 99)) };
}

async function waitAll(ids: string[], timings: Map<string, Timing>, timeoutMs: number, progress?: (n: number) => void) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = ids.filter((id) => timings.get(id)?.respondedAt !== undefined).length;
    progress?.(n);
    if (n === ids.length) return;
    if (Date.now() > deadline) throw new Error(`${ids.length - n} of ${ids.length} responses missing`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The memory target: 150 MB per service, 300 MB for the cache, which holds its embedding model. */
function rssTargetMb(service: string): number {
  return service === "cache" ? 300 : 150;
}

async function countRows(ch: ReturnType<typeof clickhouse>, prefix: string): Promise<number> {
  const { sql, sqlIdentifier } = await import("@costwise/infra");
  // The sink writes to CLICKHOUSE_DATABASE (each engineer's own on a shared ClickHouse).
  const rs = await ch.query({ query: sql`SELECT count() AS n FROM ${sqlIdentifier(DB)}.llm_calls FINAL WHERE request_id LIKE ${prefix + "%"}`, format: "JSONEachRow" });
  const [row] = await rs.json<{ n: string }>();
  return Number(row?.n ?? 0);
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
