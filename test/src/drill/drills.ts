import { newRequest, type LlmRequest } from "@costwise/schemas";
import { startService, stopService, type ServiceName, type StackConfig, type Supervisor } from "@costwise/infra";
import type { PipelineClient } from "../client.ts";
import type { emulator } from "../harness.ts";
import { sampleWorkload } from "../workload.ts";

export interface DrillContext {
  readonly stack: StackConfig;
  readonly supervisor: Supervisor;
  readonly emu: ReturnType<typeof emulator>;
  readonly client: PipelineClient;
  readonly log: (line: string) => void;
  /** Seconds of load the drill runs (its fault falls inside it). */
  readonly loadSeconds: number;
}

export interface Drill {
  readonly name: string;
  /** What the drill breaks, for the table in docs/reliability.md. */
  readonly what: string;
  /** `realtime`: uncached REALTIME requests (every one reaches a provider); `batch`: the BATCH use case; `cached`: the sample mix through the cache. */
  readonly workload: "realtime" | "batch" | "cached";
  /** Ms after the load starts. */
  readonly faultAtMs: number;
  /** Break something; resolves when it is repaired (outages) or right away (kills). */
  readonly fault: (ctx: DrillContext) => Promise<void>;
  /** Clean up a knob after the load (faults cleared, latency restored). */
  readonly after?: (ctx: DrillContext) => Promise<void>;
  /** Extra inputs sent with the load: invalid requests (ERROR expected) and undecodable bytes (dead letter expected). */
  readonly poison?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function kill(stage: string): (ctx: DrillContext) => Promise<void> {
  return async ({ supervisor, log }) => {
    const st = supervisor.states.find((s) => s.spec.service === stage);
    if (!st?.child?.pid) throw new Error(`drill: ${stage} is not running`);
    log(`SIGKILL ${st.spec.id} (pid ${st.child.pid})`);
    st.child.signal("SIGKILL");
  };
}

function outage(service: ServiceName, downMs: number): (ctx: DrillContext) => Promise<void> {
  return async ({ stack, log }) => {
    log(`stopping ${service} of the drill stack for ${downMs / 1000} s`);
    await stopService(service, { config: stack });
    await sleep(downMs);
    const t0 = Date.now();
    await startService(service, { config: stack });
    log(`${service} back after ${((Date.now() - t0) / 1000).toFixed(1)} s of start-up`);
  };
}

const STAGES = ["cache", "router", "compression", "executor", "batch-accumulator", "sink"] as const;

/** Every drill of `npm run drill`, in the order they run. */
export const DRILLS: readonly Drill[] = [
  { name: "baseline", what: "no fault", workload: "realtime", faultAtMs: 0, fault: async () => undefined },
  ...STAGES.map((stage): Drill => ({
    name: `sigkill-${stage}`,
    what: `SIGKILL of the ${stage} under load; the supervisor restarts it`,
    workload: stage === "batch-accumulator" ? "batch" : stage === "cache" ? "cached" : "realtime",
    faultAtMs: 3_000,
    fault: kill(stage),
  })),
  { name: "broker-restart", what: "Kafka stopped for 10 s, then started again", workload: "realtime", faultAtMs: 3_000, fault: outage("kafka", 10_000) },
  { name: "redis-outage", what: "Redis stopped for 15 s", workload: "cached", faultAtMs: 2_000, fault: outage("redis", 15_000) },
  { name: "clickhouse-outage", what: "ClickHouse stopped for 15 s", workload: "realtime", faultAtMs: 2_000, fault: outage("clickhouse", 15_000) },
  { name: "registry-outage", what: "schema registry stopped for 15 s", workload: "realtime", faultAtMs: 2_000, fault: outage("schema-registry", 15_000) },
  {
    name: "provider-429-storm", what: "the next 300 provider calls answer 429 (retry-after 0)", workload: "realtime", faultAtMs: 1_000,
    fault: async ({ emu }) => emu.fault({ kind: "429", count: 300, retryAfterSeconds: 0 }),
    after: async ({ emu }) => emu.clearFaults(),
  },
  {
    name: "provider-5xx-storm", what: "40 % of provider calls answer 500 and 10 % 503 for the whole load", workload: "realtime", faultAtMs: 0,
    fault: async ({ emu }) => { await emu.fault({ kind: "500", rate: 0.4 }); await emu.fault({ kind: "503", rate: 0.1 }); },
    after: async ({ emu }) => emu.clearFaults(),
  },
  {
    name: "provider-timeouts", what: "60 provider calls hang 20 s (past the executor's 3 s PROVIDER_TIMEOUT_MS)", workload: "realtime", faultAtMs: 1_000,
    fault: async ({ emu }) => emu.fault({ kind: "timeout", count: 60, timeoutMs: 20_000 }),
    after: async ({ emu }) => emu.clearFaults(),
  },
  { name: "poison-and-invalid", what: "undecodable bytes and invalid requests mixed into the load", workload: "realtime", faultAtMs: 0, fault: async () => undefined, poison: true },
  {
    name: "slow-consumer", what: "provider latency 4 s for the whole load: sub-batches outlast the 10 s session timeout", workload: "realtime", faultAtMs: 0,
    fault: async ({ emu }) => emu.config({ ttftMs: 4_000 }),
    after: async ({ emu }) => emu.config({ ttftMs: 20 }),
  },
];

/** The requests of a drill: `n` of its workload, ids prefixed by the run id. */
export function drillRequests(workload: Drill["workload"], n: number, runId: string): LlmRequest[] {
  const out: LlmRequest[] = [];
  for (let k = 0; out.length < n; k++) {
    for (const r of sampleWorkload(Math.max(n * 2, 50), `${runId}-${k}`)) {
      const batch = r.latency_class === "BATCH";
      if (workload === "batch" ? !batch : batch) continue;
      out.push(workload === "cached" ? r : { ...r, tags: { ...r.tags, cache: "off" } });
      if (out.length === n) break;
    }
  }
  return out;
}

/** Invalid requests (each must come back as an ERROR response) of a poison drill. */
export function invalidRequests(runId: string, n: number): LlmRequest[] {
  return Array.from({ length: n }, (_, i) =>
    i % 2 === 0
      ? newRequest({ request_id: `${runId}-unknown-${i}`, tenant: "drill", use_case: "poison", model: "gpt-17-ultra", messages: [{ role: "user", content: "hi" }] })
      : newRequest({ request_id: `${runId}-empty-${i}`, tenant: "drill", use_case: "poison", model: "gpt-4o-mini", messages: [] }),
  );
}
