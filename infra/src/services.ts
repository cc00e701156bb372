import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Every pipeline service `npm start` runs, in pipeline order (start order does not matter for
 * correctness: Kafka buffers between stages). Each is its own process with its own /metrics port.
 */
export const pipelineServices = [
  { name: "cache", entry: "services/cache/src/main.ts", metricsPort: 9403 },
  { name: "router", entry: "services/router/src/main.ts", metricsPort: 9404 },
  { name: "compression", entry: "services/compression/src/main.ts", metricsPort: 9405 },
  { name: "executor", entry: "services/executor/src/main.ts", metricsPort: 9401 },
  { name: "batch-accumulator", entry: "services/batch-accumulator/src/main.ts", metricsPort: 9406 },
  { name: "distiller", entry: "services/distiller/src/main.ts", metricsPort: 9408 },
  { name: "sink", entry: "services/sink/src/main.ts", metricsPort: 9402 },
  { name: "alerts", entry: "services/analytics/src/alerts/main.ts", metricsPort: 9407 },
  { name: "dashboard", entry: "services/analytics/src/dashboard/main.ts", metricsPort: 9480 },
  { name: "gateway", entry: "services/gateway/src/main.ts", metricsPort: 9409 },
] as const;

/** Default V8 old-space limit per service, in MB. */
export const DEFAULT_HEAP_MB = 0;

export type PipelineServiceName = (typeof pipelineServices)[number]["name"];

export interface SpawnedService {
  readonly name: string;
  readonly child: ChildProcess;
  readonly metricsUrl: string;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
}

/**
 * Start one service as its own Node process (how it runs in production), with `env` on top of
 * this process's environment. Output goes to `logFile` when given, else is inherited.
 */
export function spawnService(name: PipelineServiceName, env: Record<string, string>, opts: { logFile?: string; metricsPort?: number } = {}): SpawnedService {
  const spec = pipelineServices.find((s) => s.name === name);
  if (!spec) throw new Error(`unknown service ${name}`);
  const port = opts.metricsPort ?? spec.metricsPort;
  // A bounded V8 heap makes the collector keep each service's memory near its working set instead of
  // growing towards the machine's size (SERVICE_HEAP_MB; 0 leaves Node's default).
  const heapMb = Number(env.SERVICE_HEAP_MB ?? process.env.SERVICE_HEAP_MB ?? DEFAULT_HEAP_MB);
  const flags = heapMb > 0 ? [`--max-old-space-size=${heapMb}`] : [];
  const child = spawn(process.execPath, [...flags, "--import", "tsx", path.join(repoRoot, spec.entry)], {
    cwd: repoRoot,
    env: { ...process.env, ...env, METRICS_PORT: String(port) },
    stdio: opts.logFile ? ["ignore", "pipe", "pipe"] : ["ignore", "inherit", "inherit"],
  });
  if (opts.logFile) {
    mkdirSync(path.dirname(opts.logFile), { recursive: true });
    const out = createWriteStream(opts.logFile, { flags: "a" });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
  }
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
  return { name, child, metricsUrl: `http://127.0.0.1:${port}`, exited };
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
  svc.child.kill("SIGTERM");
  const timer = setTimeout(() => svc.child.kill("SIGKILL"), graceMs);
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
