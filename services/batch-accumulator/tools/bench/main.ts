/**
 * Benchmark of the batch accumulator: accumulate and submit 100,000 requests (validation,
 * tokenising, line building, claim + store in Redis, upload and batch creation at the provider
 * emulator), then let the batches finish and turn their results into responses and cost records.
 * Reports throughput into submitted batches, peak memory, and the Redis state written per request,
 * and shows that memory follows the batch size, not the traffic. Writes docs/benchmarks/batch-accumulator.md.
 *
 * Needs Redis (REDIS_URL, default the local stack's) and starts its own provider emulator process.
 * Kafka is left out on purpose: intake is driven through the same process function the runtime
 * calls, so the numbers are the accumulator's own, not the broker's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import Table from "cli-table3";
import { Redis } from "ioredis";
import { newRequest, topics, type LlmRequest } from "@costwise/schemas";
import { catalog } from "@costwise/pricing";
import { countChatTokens, createProviders } from "@costwise/providers";
import { DEFAULT_MODEL } from "@costwise/lifecycle";
import { outputProducer, silentLogger, StreamMetrics, type ProcessContext, type ProducedRecord } from "@costwise/stream-runtime";
import { memorySerde } from "@costwise/stream-runtime/testing";
import { Accumulator } from "../../src/accumulator.ts";
import { Batcher } from "../../src/batcher.ts";
import { loadBatchAccumulatorConfig } from "../../src/config.ts";
import { BatchLifecycle } from "../../src/lifecycle.ts";
import { effectiveLimits } from "../../src/limits.ts";
import { BatchMetrics } from "../../src/metrics.ts";
import { createProcess } from "../../src/process.ts";
import { anthropicBatchApi, openAiBatchApi } from "../../src/provider-api.ts";
import { policyOf, storeOf } from "../../src/service.ts";
import { freePort } from "../../src/testing/child.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
const N = Number(process.env.BENCH_BATCH_N ?? 100_000);
const TARGET_RPS = 5_000;
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
const mb = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;

// ------------------------------------------------------------------ workload

const banking = readFileSync(path.join(repoRoot, "test/fixtures/banking77-sample.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { text: string }).text);
const MODELS = ["gpt-4o-mini", "gpt-4o-mini", "gpt-4o-mini", "gpt-4o", "gpt-4o", "claude-haiku-4-5"] as const;

/** Deterministic, generated on the fly so the input itself does not sit in memory. */
function request(run: string, i: number, now: number): LlmRequest {
  const text = banking[(i * 7919) % banking.length]!;
  return newRequest({
    request_id: `${run}-${i}`, tenant: "acme-bank", use_case: "weekly-digest", latency_class: "BATCH", model: MODELS[i % MODELS.length]!,
    deadline_ms: i % 2 === 0 ? null : now + 48 * 3_600_000, max_tokens: 200, created_at: now,
    messages: [
      { role: "system", content: "You write the weekly digest of customer contacts for the operations team. Be factual and brief." },
      { role: "user", content: `Summarise this customer contact in one sentence and tag its topic: "${text}"` },
    ],
    context: i % 4 === 0 ? [{ id: `policy-${i % 50}`, text: `Card and transfer policy excerpt ${i % 50}: ${banking[(i * 31) % banking.length]!}`, score: 0.8 }] : [],
  });
}

// ------------------------------------------------------------------ emulator process

async function startEmulator(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "services/emulator/src/main.ts"], {
    cwd: repoRoot,
    env: { ...process.env, EMULATOR_PORT: String(port), LOG_LEVEL: "warn", EMULATOR_BATCH_VALIDATING_MS: "200", EMULATOR_BATCH_IN_PROGRESS_MS: "3000", EMULATOR_BATCH_FINALIZING_MS: "200" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (await fetch(`${url}/_emulator/health`).then((r) => r.ok, () => false)) return { url, child };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("emulator did not start");
}

// ------------------------------------------------------------------ one run

interface RunResult {
  name: string;
  n: number;
  maxPerBatch: number;
  intakeSeconds: number;
  acceptSeconds: number;
  acceptedPerSecond: number;
  batches: number;
  peakHeapMb: number;
  peakLiveHeapMb: number | null;
  cpuMicrosPerRequest: number;
  peakRssMb: number;
  peakHeld: number;
  bytesWrittenPerRequest: number;
  redisBytesPerRequestSubmitted: number;
  redisBytesPerRequestAfter: number | null;
  resultsSeconds: number | null;
  resultsPerSecond: number | null;
  outputs: number | null;
  sizes: string;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function runOnce(name: string, n: number, maxPerBatch: number, emulatorUrl: string, redisUrl: string, opts: { complete: boolean; liveHeap: boolean }): Promise<RunResult> {
  const { complete } = opts;
  const run = `bench${Date.now().toString(36)}`;
  const prefix = `bench:batch:${run}:`;
  const config = loadBatchAccumulatorConfig({
    EMULATOR_URL: emulatorUrl, OPENAI_BASE_URL: `${emulatorUrl}/v1`, ANTHROPIC_BASE_URL: emulatorUrl, REDIS_URL: redisUrl, BATCH_KEY_PREFIX: prefix,
    INSTANCE_ID: run, BATCH_MAX_REQUESTS: String(maxPerBatch), BATCH_MAX_AGE_MS: "600000", BATCH_MAX_HELD: String(3 * maxPerBatch + 1),
    BATCH_POLL_INITIAL_MS: "500", BATCH_POLL_MAX_MS: "1000", BATCH_TICK_MS: "100", BATCH_EMIT_CHUNK: "1000", PROVIDER_TIMEOUT_MS: "300000",
  });
  const redis = new Redis(redisUrl);
  const providers = createProviders(config, { catalog, logger: silentLogger });
  const store = storeOf(redis, config);
  const policy = policyOf(config);
  let outputs = 0;
  let firstOutputAt = 0;
  let lastOutputAt = 0;
  const producer = {
    send: async (records: readonly ProducedRecord[]) => {
      if (outputs === 0) firstOutputAt = performance.now();
      outputs += records.length;
      lastOutputAt = performance.now();
    },
    close: async () => undefined,
  };
  const observed = { held: () => 0, tracked: () => 0 };
  const metrics = new BatchMetrics(new StreamMetrics("bench", { defaultMetrics: false }).registry, observed);
  const lifecycle = new BatchLifecycle({
    store, output: outputProducer(producer, memorySerde()), catalog, defaultModel: DEFAULT_MODEL, policy, now: Date.now, logger: silentLogger, metrics,
    apis: { openai: openAiBatchApi(providers.openai, { usingEmulator: true }), anthropic: anthropicBatchApi(providers.anthropic, { usingEmulator: true }) },
    settings: {
      instanceId: run, pollInitialMs: 500, pollMaxMs: 1_000, tickMs: 100, leaseMs: 600_000, recoverEveryMs: 600_000, emitChunk: 1_000,
      backoff: { attempts: Number.MAX_SAFE_INTEGER, initialDelayMs: 200, maxDelayMs: 2_000, jitter: 0.25 },
    },
  });
  const acc = new Accumulator({ maxAgeMs: config.BATCH_MAX_AGE_MS, limits: (p) => effectiveLimits(p, { maxRequests: maxPerBatch, maxBytes: config.BATCH_MAX_BYTES }), policy });
  const batcher = new Batcher(acc, (c) => lifecycle.flush(c), { maxHeld: config.BATCH_MAX_HELD, flushConcurrency: 2, now: Date.now, logger: silentLogger, metrics });
  observed.held = () => batcher.held;
  const process_ = createProcess({ batcher, catalog, countTokens: countChatTokens, defaultModel: DEFAULT_MODEL, policy, now: Date.now, metrics });
  lifecycle.start();

  gc();
  const redisBefore = await usedMemory(redis);
  const heapBase = process.memoryUsage().heapUsed;
  let peakHeap = 0;
  let peakRss = 0;
  let peakHeld = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed - heapBase);
    peakRss = Math.max(peakRss, m.rss);
    peakHeld = Math.max(peakHeld, batcher.held);
  }, 20);

  const signal = new AbortController().signal;
  const offsets = [0, 0, 0, 0, 0, 0];
  // Live heap (after a forced GC) at 20 checkpoints: heapUsed alone mostly measures uncollected garbage.
  let peakLive = 0;
  // Forced collections cost time: runs that measure throughput do not take them.
  const checkpoint = () => {
    if (!opts.liveHeap) return;
    gc();
    peakLive = Math.max(peakLive, process.memoryUsage().heapUsed - heapBase);
  };
  const every = Math.max(1, Math.floor(n / 20));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % every === 0) checkpoint();
    const partition = i % 6;
    const ctx = { logger: silentLogger, signal, envelope: { topic: topics.batch.name, partition, offset: String(offsets[partition]!++), headers: {} } } as unknown as ProcessContext;
    const out = await process_(request(run, i, now), ctx);
    if (out.held === undefined) throw new Error(`request ${i} was not accepted: ${JSON.stringify(out).slice(0, 200)}`);
  }
  const intakeSeconds = (performance.now() - t0) / 1000;
  checkpoint();
  batcher.flushOpen();
  while (batcher.held > 0) await new Promise((r) => setTimeout(r, 10));
  const acceptSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  // Batches of this run: still active, or already done (the emulator is fast enough to finish some meanwhile).
  const active = [...(await store.active()), ...(await store.recentlyDone(10_000))];
  const submitted = active.length;
  const sizes = active.map((b) => `${b.model}:${b.count}(${b.reason})`).sort().join(" ");
  const redisSubmitted = await usedMemory(redis);

  let resultsSeconds: number | null = null;
  let redisAfter: number | null = null;
  if (complete) {
    const expected = n * 2; // a response and a cost record per request
    while (outputs < expected) await new Promise((r) => setTimeout(r, 50));
    while ((await store.active()).length > 0) await new Promise((r) => setTimeout(r, 50));
    resultsSeconds = (lastOutputAt - firstOutputAt) / 1000;
    redisAfter = await usedMemory(redis);
  }
  await lifecycle.stop();
  batcher.close();
  await providers.close();
  // Clean up this run's keys.
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 5_000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
  return {
    name, n, maxPerBatch, intakeSeconds, acceptSeconds, acceptedPerSecond: n / acceptSeconds, batches: submitted,
    peakHeapMb: mb(peakHeap), peakLiveHeapMb: opts.liveHeap ? mb(peakLive) : null, cpuMicrosPerRequest: (cpu.user + cpu.system) / n, peakRssMb: mb(peakRss), peakHeld,
    bytesWrittenPerRequest: store.bytesWritten / n,
    redisBytesPerRequestSubmitted: (redisSubmitted - redisBefore) / n,
    redisBytesPerRequestAfter: redisAfter === null ? null : (redisAfter - redisBefore) / n,
    resultsSeconds, resultsPerSecond: resultsSeconds ? n / resultsSeconds : null, outputs: complete ? outputs : null, sizes,
  };
}

// ------------------------------------------------------------------ main

async function main() {
  const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:16379";
  const emulator = await startEmulator();
  try {
    process.stdout.write(`batch accumulator benchmark: ${N} requests, emulator ${emulator.url}, Redis ${redisUrl}\n`);
    const load = loadavg()[0]!;
    await runOnce("warm-up", 5_000, 5_000, emulator.url, redisUrl, { complete: false, liveHeap: false });
    const main = await runOnce(`${N} requests, batches of up to 50,000`, N, 50_000, emulator.url, redisUrl, { complete: true, liveHeap: false });
    const mainMem = await runOnce(`${N} requests, batches of up to 50,000 (memory)`, N, 50_000, emulator.url, redisUrl, { complete: false, liveHeap: true });
    const boundA = await runOnce(`${N / 2} requests, batches of up to 5,000 (memory)`, N / 2, 5_000, emulator.url, redisUrl, { complete: false, liveHeap: true });
    const boundB = await runOnce(`${N * 2} requests, batches of up to 5,000 (memory)`, N * 2, 5_000, emulator.url, redisUrl, { complete: false, liveHeap: true });
    const runs = [main, mainMem, boundA, boundB];
    const live = (r: RunResult) => (r.peakLiveHeapMb === null ? "–" : String(r.peakLiveHeapMb));
    const t = new Table({ head: ["run", "accepted/s", "CPU µs/req", "intake s", "into batches s", "batches", "peak held", "peak live heap MB", "peak heap MB", "peak RSS MB", "written B/req", "Redis B/req"] });
    for (const r of runs) {
      t.push([r.name, Math.round(r.acceptedPerSecond), Math.round(r.cpuMicrosPerRequest), r.intakeSeconds.toFixed(1), r.acceptSeconds.toFixed(1), r.batches, r.peakHeld, live(r), r.peakHeapMb, r.peakRssMb, Math.round(r.bytesWrittenPerRequest), Math.round(r.redisBytesPerRequestSubmitted)]);
    }
    process.stdout.write(`${t.toString()}\n`);
    for (const r of runs) process.stdout.write(`batches of "${r.name}": ${r.sizes}\n`);
    process.stdout.write(`load average (1 min) at start: ${load.toFixed(1)} on ${cpus().length} cores\n`);
    process.stdout.write(`results of the ${N} run: ${main.outputs} outputs in ${main.resultsSeconds?.toFixed(1)} s (${Math.round(main.resultsPerSecond ?? 0)} requests/s); Redis kept ${Math.round(main.redisBytesPerRequestAfter ?? 0)} B/request afterwards (claims)\n`);

    const cpu = cpus()[0]?.model ?? "unknown CPU";
    const met = main.acceptedPerSecond >= TARGET_RPS;
    const bounded = (boundB.peakLiveHeapMb ?? 0) <= (boundA.peakLiveHeapMb ?? 0) * 1.5 + 10;
    const md = `# Batch accumulator benchmark

\`npm run bench -w @costwise/batch-accumulator\` (services/batch-accumulator/tools/bench/main.ts). Numbers depend on the machine.

- Machine: ${cpus().length} × ${cpu}, ${mb(totalmem())} MB RAM, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; load average ${load.toFixed(1)} when the run started (a shared machine: other work competes for the cores)
- Redis: the local stack's (${redisUrl}); provider emulator in its own process (batch: 200 ms validating, 3 s in progress, 200 ms finalizing)
- Workload: generated weekly-digest requests (banking77 texts, a quarter with a retrieved context chunk), models gpt-4o-mini 50 %, gpt-4o 33 %, claude-haiku-4-5 17 %, max_tokens 200, half with a 48 h deadline
- Intake is driven through the service's own process function, one request at a time (as the runtime does with CONCURRENCY=1); Kafka consumption and Avro decoding are not in these numbers

## Accepted into submitted batches

"Into batches" runs from the first request to the moment every request is in a batch that is stored in Redis and created at the provider (the point from which its Kafka offset may be committed). It includes validation and token counting, building the provider lines, claiming and storing each request in Redis, uploading the OpenAI input files and creating the batches.

| run | accepted/s | accumulator CPU µs/request | intake s | into batches s | batches | peak requests held | peak live heap MB | peak heap MB | peak RSS MB | state written B/request | Redis memory B/request |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${runs.map((r) => `| ${r.name} | ${Math.round(r.acceptedPerSecond)} | ${Math.round(r.cpuMicrosPerRequest)} | ${r.intakeSeconds.toFixed(1)} | ${r.acceptSeconds.toFixed(1)} | ${r.batches} | ${r.peakHeld} | ${live(r)} | ${r.peakHeapMb} | ${r.peakRssMb} | ${Math.round(r.bytesWrittenPerRequest)} | ${Math.round(r.redisBytesPerRequestSubmitted)} |`).join("\n")}

The first run measures throughput; the runs marked "(memory)" repeat the workload with a forced garbage collection at 20 checkpoints to read the live heap (what the accumulator really holds), which slows them down. Heap figures are over the process's baseline before the run; "peak heap" samples heapUsed every 20 ms and includes garbage not yet collected. "Accumulator CPU" is the CPU time of the accumulator's process (user + system) per request, from the first request until all are in submitted batches: the emulator and Redis run in their own processes. The wall clock is bound by Redis and by the provider's batch creation, not by that CPU.

- Target ≥ ${TARGET_RPS} requests/s accepted into batches: **${met ? "met" : "missed"}** (${Math.round(main.acceptedPerSecond)}/s wall clock for ${N} requests, with ${Math.round(main.cpuMicrosPerRequest)} µs of accumulator CPU per request).
- Memory bounded by the open batch sizes, not by traffic: with batches of up to 5,000 (BATCH_MAX_HELD 15,001), ${boundB.n} requests peaked at ${boundB.peakLiveHeapMb} MB of live heap against ${boundA.peakLiveHeapMb} MB for ${boundA.n} (**${bounded ? "bounded" : "not bounded"}**); the peak number of requests held follows the batch size and BATCH_MAX_HELD (${boundA.peakHeld} and ${boundB.peakHeld}), while batches of up to 50,000 held up to ${mainMem.peakHeld} (${mainMem.peakLiveHeapMb} MB).
- State written per request: the stored request (JSON, needed to answer it or send it on once its Kafka offset is committed) plus its claim key; "Redis memory" is the growth of Redis's used_memory per request while the batches were open (approximate: the Redis is shared with other work).

## Results back to responses

The ${N} run then let the emulator finish its batches: ${main.outputs} outputs (a response and a cost record per request) were produced in ${main.resultsSeconds?.toFixed(1)} s from the first to the last, ${Math.round(main.resultsPerSecond ?? 0)} requests/s (fetching the result files, matching them by custom_id, pricing at the batch rate, Avro encoding). Once every batch was done, Redis kept about ${Math.round(main.redisBytesPerRequestAfter ?? 0)} B per request (used_memory growth, approximate): the claims that drop late duplicates (BATCH_CLAIM_TTL_S, 2 days by default) and the finished batch records.
`;
    const out = path.join(repoRoot, "docs/benchmarks/batch-accumulator.md");
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, md);
    process.stdout.write(`wrote ${path.relative(repoRoot, out)}\n`);
  } finally {
    emulator.child.kill("SIGTERM");
  }
}

await main();
process.exit(0);
