import path from "node:path";
import { createEmulator, type RecordedSnapshot } from "@costwise/emulator";
import { ensureStack, freePort, loadStackEnv, repoRoot, spawnService, sql, sqlIdentifier, stopPipelineService, waitHealthy, type PipelineServiceName, type SpawnedService } from "@costwise/infra";
import { topics, type LlmResponse } from "@costwise/schemas";
import { PipelineClient } from "../client.ts";
import { deleteNamespaceTopics } from "../namespace.ts";
import { clickhouse, DB } from "../harness.ts";
import { summariseAll, type CallRow, type Graded, type GroupSummary } from "./aggregate.ts";
import { checkAnswered, checkConsistent, ReplayError } from "./consistency.ts";
import { readDataFile, ReplayDataError, type DataRow } from "./data.ts";
import { gradeResponse, knownRouterTexts } from "./grade.ts";
import { warmStartCache } from "./warm-start.ts";
import { buildWorkload, type ReplayItem } from "./workload.ts";

/** The policies the replay runs with (shipped beside this folder, passed by the services' policy-file variables). */
export const REPLAY_POLICIES = {
  cache: path.join(repoRoot, "test/replay/policies/cache.yaml"),
  router: path.join(repoRoot, "test/replay/policies/router.yaml"),
  compression: path.join(repoRoot, "test/replay/policies/compression.yaml"),
} as const;

/** The stages replayed requests go through: real-time ones end at the executor, BATCH ones at the batch accumulator. */
export const REPLAY_SERVICES: readonly PipelineServiceName[] = ["cache", "router", "compression", "executor", "batch-accumulator", "sink"];

/**
 * Service settings the replay sets, none of which decides an answer:
 * - CACHE_REDIS_TIMEOUT_MS: the replay shares a 2-core machine with the whole stack; at the
 *   production 50 ms a loaded Redis fails the cache's writes and the run would measure the
 *   machine's load, not the cache;
 * - BATCH_MAX_AGE_MS: a batch is submitted 5 s after its first request (production: 60 s), so a
 *   run of a few minutes does not wait a minute per batch. The discount is the same.
 */
export const REPLAY_SERVICE_SETTINGS = { CACHE_REDIS_TIMEOUT_MS: "2000", BATCH_MAX_AGE_MS: "5000" } as const;

export interface ReplayOptions {
  readonly data: readonly string[];
  readonly perFile?: number;
  readonly seed: number;
  /** Requests in flight at once: later requests arrive after earlier answers could be cached. */
  readonly concurrency: number;
  readonly log: (line: string) => void;
  /** How long to wait for the last responses and cost records. */
  readonly settleMs?: number;
  /** Labelled queries (not among `data`) the cache's calibration is seeded from before the run. */
  readonly cacheCalibration?: string;
}

export interface ReplayResult {
  readonly runId: string;
  readonly total: GroupSummary;
  readonly byKind: Record<string, GroupSummary>;
  readonly graded: readonly Graded[];
  readonly excluded: readonly ReplayItem[];
  readonly files: readonly { file: string; dataset: string; kind: string; rows: number; used: number }[];
  readonly timing: { wallSeconds: number; sendSeconds: number; latencyP50Ms: number; latencyP95Ms: number };
  /** Cache-data requests whose intent had been answered before they were sent, of those with an earlier same-intent request. */
  readonly repeats: { afterAnswer: number; withEarlier: number };
  readonly emulator: RecordedSnapshot;
}


const percentile = (xs: number[], q: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** Reads the data, runs every request through the real pipeline against a recorded-answer emulator, grades and sums up. */
export async function runReplay(opts: ReplayOptions): Promise<ReplayResult> {
  const runId = `replay-${new Date().toISOString().replace(/[-:T.Z]/g, "").slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;
  // The run's own topics (COSTWISE_TOPIC_NAMESPACE, inherited by the services it starts): other
  // pipelines on the shared cluster neither answer its requests nor feed it theirs.
  const previous = process.env.COSTWISE_TOPIC_NAMESPACE;
  process.env.COSTWISE_TOPIC_NAMESPACE = `${runId}.`;
  try {
    return await replay(opts, runId);
  } finally {
    if (previous === undefined) delete process.env.COSTWISE_TOPIC_NAMESPACE;
    else process.env.COSTWISE_TOPIC_NAMESPACE = previous;
  }
}

async function replay(opts: ReplayOptions, runId: string): Promise<ReplayResult> {
  const t0 = Date.now();
  const fileRows: DataRow[][] = opts.data.map((f) => readDataFile(f));
  const { items, excluded } = buildWorkload(fileRows, { perFile: opts.perFile, seed: opts.seed, runId });
  const files = fileRows.map((rows) => ({
    file: rows[0]!.file, dataset: rows[0]!.dataset, kind: rows[0]!.kind, rows: rows.length,
    used: items.filter((i) => i.source.file === rows[0]!.file).length,
  }));
  opts.log(`workload: ${items.length} requests from ${files.map((f) => `${f.dataset} (${f.used})`).join(", ")}${excluded.length ? `; ${excluded.length} rows left out (same text as another row, different label)` : ""}`);

  opts.log("local stack (Kafka, schema registry, Redis, ClickHouse)");
  // The demo's first command on a fresh machine: as root on Debian a missing Redis or ClickHouse is installed.
  await ensureStack({ log: (line: string) => opts.log(`  ${line}`), installMissing: true });
  const env = loadStackEnv();

  // A private emulator: the ground truth stays in it, and nobody else's faults or knobs apply.
  const emulator = createEmulator();
  const emulatorUrl = await emulator.start(0);
  const load = await fetch(`${emulatorUrl}/_emulator/recorded`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ entries: items.map((i) => i.truth), replace: true }),
    signal: AbortSignal.timeout(60_000),
  });
  if (!load.ok) throw new ReplayError(`loading the ground truth into the emulator failed: ${load.status} ${await load.text()}`);
  opts.log(`recorded-answer emulator at ${emulatorUrl}: ${JSON.stringify(await load.json())}`);

  const running: SpawnedService[] = [];
  const ch = clickhouse(env);
  let client: PipelineClient | undefined;
  try {
    const groups = Object.fromEntries(REPLAY_SERVICES.map((s) => [s, `${runId}-${s}`])) as Record<string, string>;
    opts.log(`topics of this run only: ${process.env.COSTWISE_TOPIC_NAMESPACE}* (deleted at the end)`);
    const serviceEnv = {
      ...env,
      EMULATOR_URL: emulatorUrl,
      OPENAI_BASE_URL: `${emulatorUrl}/v1`,
      ANTHROPIC_BASE_URL: emulatorUrl,
      CACHE_POLICY_FILE: REPLAY_POLICIES.cache,
      ROUTER_POLICY_FILE: REPLAY_POLICIES.router,
      COMPRESSION_POLICY_FILE: REPLAY_POLICIES.compression,
      // Fresh cache and router state per run: nothing learnt by an earlier run is served.
      CACHE_KEY_PREFIX: `cw:${runId}:cache`,
      ROUTER_REDIS_PREFIX: `cw:${runId}:router`,
      BATCH_KEY_PREFIX: `cw:${runId}:batch:`,
      INSTANCE_ID: runId,
      COSTWISE_TOPIC_NAMESPACE: process.env.COSTWISE_TOPIC_NAMESPACE!,
      ...REPLAY_SERVICE_SETTINGS,
      ROUTER_SHADOW_METRICS_PORT: String(await freePort()),
      LOG_LEVEL: "info",
    };
    if (opts.cacheCalibration) await warmStartCache(opts.cacheCalibration, opts.data, serviceEnv, opts.log);
    opts.log(`pipeline services: ${REPLAY_SERVICES.join(", ")} (consumer groups ${runId}-*, logs in .costwise/logs/replay-*.log)`);
    for (const name of REPLAY_SERVICES) {
      const svc = spawnService(name, { ...serviceEnv, GROUP_ID: groups[name]! }, { logFile: path.join(repoRoot, ".costwise/logs", `replay-${name}.log`), metricsPort: await freePort() });
      running.push(svc);
    }
    // Six services starting at once on a loaded machine can take minutes (model loads, Kafka joins).
    await Promise.all(running.map((s) => waitHealthy(s, 300_000)));

    client = await PipelineClient.connect(env as { KAFKA_BROKERS: string; SCHEMA_REGISTRY_URL: string });
    const got = new Map<string, LlmResponse>();
    const receivedAt = new Map<string, number>();
    const answers = new Map<string, number>();
    await client.subscribe<LlmResponse>(topics.responses, (r, meta) => {
      if (!r.request_id.startsWith(runId)) return;
      answers.set(r.request_id, (answers.get(r.request_id) ?? 0) + 1);
      if (got.has(r.request_id)) return;
      got.set(r.request_id, r);
      receivedAt.set(r.request_id, meta.receivedAt);
    });

    // Closed-loop arrivals: at most `concurrency` real-time requests wait for an answer, so a repeat
    // arrives after the answers sent well before it were learnt by the cache. BATCH requests wait
    // for their batch without holding up the others, as their callers do.
    const sentAt = new Map<string, number>();
    const realtime = new Set(items.filter((i) => i.request.latency_class !== "BATCH").map((i) => i.id));
    const answeredIntent = new Set<string>();
    const seenIntent = new Set<string>();
    let afterAnswer = 0;
    let withEarlier = 0;
    const sendStart = Date.now();
    let lastReport = 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      for (;;) {
        let inFlight = 0;
        for (const id of sentAt.keys()) if (realtime.has(id) && !got.has(id)) inFlight++;
        if (inFlight < opts.concurrency) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      for (const done of items.slice(0, i)) {
        if (done.truth.kind === "cache" && got.has(done.id)) answeredIntent.add(done.truth.oos ? done.truth.id : done.truth.intent);
      }
      if (item.truth.kind === "cache") {
        const intent = item.truth.oos ? item.truth.id : item.truth.intent;
        if (seenIntent.has(intent)) {
          withEarlier++;
          if (answeredIntent.has(intent)) afterAnswer++;
        }
        seenIntent.add(intent);
      }
      const now = Date.now();
      sentAt.set(item.id, now);
      await client.produce([{ ...item.request, created_at: now }]);
      if (now - lastReport > 5_000) {
        lastReport = now;
        opts.log(`  sent ${i + 1}/${items.length}, answered ${got.size}`);
      }
    }
    const sendSeconds = (Date.now() - sendStart) / 1000;
    const ids = items.map((i) => i.id);
    await PipelineClient.waitFor(ids, got, opts.settleMs ?? 180_000).catch(() => checkAnswered(ids, got));
    opts.log(`all ${got.size} responses in after ${sendSeconds.toFixed(1)} s of sending; waiting for the cost records in ${DB}.llm_calls`);

    const calls = new Map<string, CallRow>();
    const deadline = Date.now() + (opts.settleMs ?? 180_000);
    while (calls.size < ids.length) {
      const rs = await ch.query({
        query: sql`SELECT request_id, status, served_by, model_used, cost_nanousd, overhead_cost_nanousd, baseline_cost_nanousd,
            saving_cache_nanousd, saving_routing_nanousd, saving_compression_nanousd, saving_batch_nanousd, saving_prompt_cache_nanousd, context_tokens_before, context_tokens_after
          FROM ${sqlIdentifier(DB)}.llm_calls FINAL WHERE request_id LIKE ${`${runId}-%`}`,
        format: "JSONEachRow",
      });
      for (const row of await rs.json<CallRow>()) calls.set(row.request_id, row);
      if (calls.size >= ids.length) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }

    const routerTexts = knownRouterTexts(items);
    const grades = new Map(items.filter((i) => got.has(i.id)).map((i) => [i.id, gradeResponse(i, got.get(i.id)!, routerTexts)] as const));
    checkConsistent({ ids, got, answerCounts: answers, calls, grades, database: DB });
    const graded: Graded[] = items.map((item) => ({ item, response: got.get(item.id)!, call: calls.get(item.id)!, grade: grades.get(item.id)! }));
    const { total, byKind } = summariseAll(graded, opts.seed);
    // Real-time requests only: a BATCH request's wait is its batch's turnaround, by choice.
    const latencies = items.filter((i) => realtime.has(i.id)).map((i) => receivedAt.get(i.id)! - sentAt.get(i.id)!);
    const snapshot = (await (await fetch(`${emulatorUrl}/_emulator/recorded`, { signal: AbortSignal.timeout(30_000) })).json()) as RecordedSnapshot;
    return {
      runId, total, byKind, graded, excluded, files,
      timing: { wallSeconds: (Date.now() - t0) / 1000, sendSeconds, latencyP50Ms: percentile(latencies, 0.5), latencyP95Ms: percentile(latencies, 0.95) },
      repeats: { afterAnswer, withEarlier },
      emulator: snapshot,
    };
  } finally {
    await client?.close().catch(() => undefined);
    await Promise.all(running.map((s) => stopPipelineService(s)));
    await ch.close();
    await emulator.stop();
    await deleteNamespaceTopics(env.KAFKA_BROKERS!, opts.log);
  }
}

export { ReplayDataError, ReplayError };
