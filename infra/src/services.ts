import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { assertAllBuilt, BuildError, COMPILED_CONDITION, distEntryOf } from "./build-output.ts";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * How a service process runs: `tsx` compiles the TypeScript sources at start (development, tests);
 * `dist` runs the build output of `npm run build` (what `npm start`, the demo and deployments run).
 * Chosen by COSTWISE_RUNTIME; a stale or missing build is refused, never run.
 */
export type ServiceRuntime = "tsx" | "dist";

export function serviceRuntime(env: Record<string, string | undefined> = process.env): ServiceRuntime {
  const v = env.COSTWISE_RUNTIME?.trim() || "tsx";
  if (v !== "tsx" && v !== "dist") throw new BuildError(`COSTWISE_RUNTIME must be tsx or dist, not "${v}"`);
  return v;
}

/** The Node arguments (after `node`) that run a service's entry under a runtime; paths under `root` when given. */
export function serviceArgs(spec: Pick<PipelineServiceSpec, "entry">, runtime: ServiceRuntime, root?: string): string[] {
  const at = (p: string) => (root ? path.join(root, p) : p);
  return runtime === "dist" ? [`--conditions=${COMPILED_CONDITION}`, at(distEntryOf(spec.entry))] : ["--import", "tsx", at(spec.entry)];
}

let checkedBuild = false;

/** One deployable service: what `npm start`, the drills and the Kubernetes manifests run. */
export interface PipelineServiceSpec {
  readonly name: string;
  readonly entry: string;
  /** /metrics and /health; replica i (from 0) listens on metricsPort + 100·i. */
  readonly metricsPort: number;
  /**
   * A consumer-group stage: replicas share its group and Kafka spreads the partitions over them.
   * Not scalable: singletons by design (one alert loop, one dashboard port).
   */
  readonly scalable: boolean;
  /** Consumer group and the topics whose lag scales it (KEDA); none for services outside a group. */
  readonly group?: string;
  readonly lagTopics?: readonly string[];
  /** The variables that set its HTTP port and interface (default METRICS_PORT and OPS_HOST of the stream runtime). */
  readonly portEnv?: string;
  readonly hostEnv?: string;
  /**
   * Variables of further ports the process listens on (the router's shadow loop). An instance
   * given another port than the default (a replica, a benchmark) gets any free port for these,
   * so two instances on one machine do not collide on them.
   */
  readonly extraPortEnvs?: readonly string[];
}

/**
 * Every pipeline service `npm start` runs, in pipeline order (start order does not matter for
 * correctness: Kafka buffers between stages). Each is its own process with its own /metrics port.
 * The one table of services: `npm start`, the drills, infra/k8s and docker-compose.yml follow it.
 */
export const pipelineServices = [
  { name: "cache", entry: "services/cache/src/main.ts", metricsPort: 9403, scalable: true, group: "costwise-cache", lagTopics: ["llm.requests", "llm.responses", "llm.cache.verifications", "llm.outcomes"] },
  { name: "router", entry: "services/router/src/main.ts", metricsPort: 9404, scalable: true, group: "costwise-router", lagTopics: ["llm.requests.uncached"], extraPortEnvs: ["ROUTER_SHADOW_METRICS_PORT"] },
  { name: "compression", entry: "services/compression/src/main.ts", metricsPort: 9405, scalable: true, group: "costwise-compression", lagTopics: ["llm.requests.routed"] },
  { name: "executor", entry: "services/executor/src/main.ts", metricsPort: 9401, scalable: true, group: "costwise-executor", lagTopics: ["llm.requests.ready"] },
  { name: "batch-accumulator", entry: "services/batch-accumulator/src/main.ts", metricsPort: 9406, scalable: true, group: "costwise-batch-accumulator", lagTopics: ["llm.requests.batch"] },
  { name: "distiller", entry: "services/distiller/src/main.ts", metricsPort: 9408, scalable: true, group: "costwise-distiller", lagTopics: ["llm.requests.ready", "llm.requests.batch", "llm.responses"] },
  { name: "sink", entry: "services/sink/src/main.ts", metricsPort: 9402, scalable: true, group: "costwise-sink", lagTopics: ["llm.responses", "llm.cost-records", "llm.distill-samples", "llm.outcomes"] },
  { name: "alerts", entry: "services/analytics/src/alerts/main.ts", metricsPort: 9407, scalable: false },
  { name: "dashboard", entry: "services/analytics/src/dashboard/main.ts", metricsPort: 9480, scalable: false, portEnv: "DASHBOARD_PORT", hostEnv: "DASHBOARD_HOST" },
  // Not a shared consumer group: every gateway replica reads its own replies (its own group, named by
  // GATEWAY_REPLICA_ID) and serves its own HTTP port, so replicas are deployments of their own.
  { name: "gateway", entry: "services/gateway/src/main.ts", metricsPort: 9409, scalable: false },
] as const satisfies readonly PipelineServiceSpec[];

/** The /metrics and /health port of replica `index` (from 0) of a service. */
export function replicaPort(spec: Pick<PipelineServiceSpec, "metricsPort">, index: number): number {
  return spec.metricsPort + 100 * index;
}

/** Default V8 old-space limit per service, in MB. */
export const DEFAULT_HEAP_MB = 0;

export type PipelineServiceName = (typeof pipelineServices)[number]["name"];

export interface SpawnedService {
  readonly name: string;
  readonly child: ChildProcess;
  readonly metricsUrl: string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** Signal the service: its whole process group when it was started detached. */
  signal(sig: NodeJS.Signals): void;
}

/** "0" (any free port) for each extra port of an instance not on the default port, unless `env` sets it. */
export function extraPorts(spec: Pick<PipelineServiceSpec, "metricsPort" | "extraPortEnvs">, port: number, env: Record<string, string>): Record<string, string> {
  if (port === spec.metricsPort) return {};
  return Object.fromEntries((spec.extraPortEnvs ?? []).filter((k) => env[k] === undefined).map((k) => [k, "0"]));
}

/**
 * Start one service as its own Node process (how it runs in production), with `env` on top of
 * this process's environment. Output goes to `logFile` when given, else is inherited.
 */
export function spawnService(
  name: PipelineServiceName,
  env: Record<string, string>,
  opts: {
    logFile?: string;
    metricsPort?: number;
    /** Its own process group (a supervisor signals the group, so nothing the service started outlives it). */
    detached?: boolean;
    /** Shown in logs and used as the name of this instance (e.g. executor-2). */
    instance?: string;
  } = {},
): SpawnedService {
  const spec: PipelineServiceSpec | undefined = pipelineServices.find((s) => s.name === name);
  if (!spec) throw new Error(`unknown service ${name}`);
  const port = opts.metricsPort ?? spec.metricsPort;
  // A bounded V8 heap makes the collector keep each service's memory near its working set instead of
  // growing towards the machine's size (SERVICE_HEAP_MB; 0 leaves Node's default).
  const heapMb = Number(env.SERVICE_HEAP_MB ?? process.env.SERVICE_HEAP_MB ?? DEFAULT_HEAP_MB);
  // SERVICE_CPU_PROF_DIR: each service writes a V8 CPU profile there when it exits (for `npm run bench`).
  const profDir = env.SERVICE_CPU_PROF_DIR ?? process.env.SERVICE_CPU_PROF_DIR;
  const flags = [...(heapMb > 0 ? [`--max-old-space-size=${heapMb}`] : []), ...(profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [])];
  const runtime = serviceRuntime({ COSTWISE_RUNTIME: env.COSTWISE_RUNTIME ?? process.env.COSTWISE_RUNTIME });
  if (runtime === "dist" && !checkedBuild) {
    assertAllBuilt();
    checkedBuild = true;
  }
  const child = spawn(process.execPath, [...flags, ...serviceArgs(spec, runtime, repoRoot)], {
    cwd: repoRoot,
    env: { ...process.env, ...extraPorts(spec, port, env), ...env, [spec.portEnv ?? "METRICS_PORT"]: String(port) },
    stdio: opts.logFile ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
    detached: opts.detached ?? false,
  });
  if (opts.logFile) {
    mkdirSync(path.dirname(opts.logFile), { recursive: true });
    const out = createWriteStream(opts.logFile, { flags: "a" });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
  }
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  const signal = (sig: NodeJS.Signals) => {
    if (child.pid === undefined) return;
    try {
      // A group outlives its leader while a member lives: signal it even after the service exited.
      if (opts.detached) process.kill(-child.pid, sig);
      else if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    } catch {
      // already gone
    }
  };
  return { name: opts.instance ?? name, child, metricsUrl: `http://127.0.0.1:${port}`, exited, signal };
}

/** Poll /health until the service has joined its consumer group. */
export async function waitHealthy(svc: SpawnedService, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: unknown;
  void svc.exited.then((c) => (exit = c ?? "exited"));
  while (Date.now() < deadline) {
    if (exit !== undefined) throw new Error(`${svc.name} exited (${String(exit)}) before becoming healthy`);
    try {
      const res = await fetch(`${svc.metricsUrl}/health`);
      const body = (await res.json().catch(() => ({}))) as { pid?: number };
      // Another process answering on the port (a leftover instance) is not this service being healthy.
      if (body.pid !== undefined && body.pid !== svc.child.pid) throw new Error(`port of ${svc.name} is held by another process (pid ${body.pid}): ${svc.metricsUrl}`);
      if (res.ok) return;
    } catch (err) {
      if (err instanceof Error && err.message.startsWith("port of")) throw err;
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${svc.name} not healthy after ${timeoutMs} ms (${svc.metricsUrl}/health)`);
}

/** SIGTERM, then SIGKILL if it does not exit in time. */
export async function stopPipelineService(svc: SpawnedService, graceMs = 20_000): Promise<void> {
  if (svc.child.exitCode !== null || svc.child.signalCode !== null) return;
  svc.signal("SIGTERM");
  const timer = setTimeout(() => svc.signal("SIGKILL"), graceMs);
  await svc.exited;
  clearTimeout(timer);
}

/** A TCP port free on 127.0.0.1 right now, for a child service's HTTP or metrics listener. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
