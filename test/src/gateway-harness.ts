import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { freePort, repoRoot, spawnService, stopPipelineService, waitHealthy, type PipelineServiceName, type SpawnedService } from "@costwise/infra";
import { topics, type TopicSpec } from "@costwise/schemas";
import { KafkaTestClient } from "@costwise/stream-runtime/testing";

/** What the gateway's callers need, from the stack's environment (stack.env). */
export function gatewayKeys(env: Record<string, string | undefined>): { key: string; key2: string; keysFile: string } {
  const key = env.GATEWAY_DEMO_KEY;
  const key2 = env.GATEWAY_DEMO_KEY_2;
  const keysFile = env.GATEWAY_KEYS_FILE;
  if (!key || !key2 || !keysFile) throw new Error("GATEWAY_DEMO_KEY, GATEWAY_DEMO_KEY_2 or GATEWAY_KEYS_FILE is not set: run `npm run stack:up`");
  return { key, key2, keysFile };
}

/** Services load models and join groups; on a busy shared machine that takes minutes. */
const START_TIMEOUT_MS = 240_000;

/** The request path behind the gateway: each stage its own process, in consumer groups of this run only. */
export const GATEWAY_CHAIN = ["cache", "router", "compression", "executor", "batch-accumulator"] as const satisfies readonly PipelineServiceName[];

const INPUTS: Record<string, readonly TopicSpec[]> = {
  cache: [topics.requests, topics.responses, topics.cacheVerifications],
  router: [topics.uncached],
  "router-shadow": [topics.responses],
  compression: [topics.routed],
  executor: [topics.ready],
  "batch-accumulator": [topics.batch],
};

export interface GatewayPipeline {
  readonly url: string;
  readonly replicaId: string;
  readonly services: Map<string, SpawnedService>;
  /** Start the gateway (again, e.g. after a kill) with the same replica id and port. */
  startGateway(extraEnv?: Record<string, string>): Promise<SpawnedService>;
  stopGateway(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Gateway + cache + router + compression + executor + batch accumulator as child processes against
 * the real stack. Every group is new and starts at the end of its topics (nobody else's backlog),
 * and the cache and router keep their state under this run's Redis prefix.
 */
export async function startGatewayPipeline(env: Record<string, string>, run: string, opts: { logPrefix: string; extraEnv?: Record<string, string>; chain?: readonly PipelineServiceName[] }): Promise<GatewayPipeline> {
  const chain = opts.chain ?? GATEWAY_CHAIN;
  const kafka = KafkaTestClient.connect({ KAFKA_BROKERS: env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL! });
  const group = (name: string) => `${run}-${name}`;
  try {
    for (const [name, inputs] of Object.entries(INPUTS)) {
      const service = name === "router-shadow" ? "router" : name;
      if (!(chain as readonly string[]).includes(service)) continue;
      for (const topic of inputs) await kafka.startGroupAtEnd(name === "router-shadow" ? `${group("router")}-shadow` : group(name), topic);
    }
  } finally {
    await kafka.close();
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const replicaId = run.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 64);
  const base = {
    ...env,
    LOG_LEVEL: "info",
    CACHE_KEY_PREFIX: `cw:${run}:cache`,
    ROUTER_REDIS_PREFIX: `cw:${run}:router`,
    ROUTER_SHADOW_METRICS_PORT: String(await freePort()),
    BATCH_MAX_AGE_MS: "2000", BATCH_POLL_INITIAL_MS: "500", BATCH_POLL_MAX_MS: "2000",
    ...opts.extraEnv,
  };
  const services = new Map<string, SpawnedService>();
  const log = (name: string) => path.join(repoRoot, ".costwise/logs", `${opts.logPrefix}-${name}.log`);
  const started = await Promise.all(
    chain.map(async (name) => {
      const svc = spawnService(name, { ...base, GROUP_ID: group(name) }, { logFile: log(name), metricsPort: await freePort() });
      services.set(name, svc);
      return svc;
    }),
  );
  const gatewayMetricsPort = await freePort();
  const startGateway = async (extraEnv: Record<string, string> = {}) => {
    const svc = spawnService("gateway", { ...base, GATEWAY_PORT: String(port), GATEWAY_PUBLIC_URL: url, GATEWAY_REPLICA_ID: replicaId, ...extraEnv }, { logFile: log("gateway"), metricsPort: gatewayMetricsPort });
    services.set("gateway", svc);
    await waitHealthy(svc, START_TIMEOUT_MS);
    return svc;
  };
  try {
    await Promise.all(started.map((s) => waitHealthy(s, START_TIMEOUT_MS)));
    await startGateway();
  } catch (err) {
    // Nothing is left running when the start fails.
    await Promise.all([...services.values()].map((s) => stopPipelineService(s)));
    throw err;
  }
  return {
    url, replicaId, services, startGateway,
    async stopGateway(signal: NodeJS.Signals = "SIGTERM") {
      const svc = services.get("gateway");
      if (!svc || svc.child.exitCode !== null || svc.child.signalCode !== null) return;
      svc.child.kill(signal);
      await svc.exited;
    },
    async stop() {
      await Promise.all([...services.values()].map((s) => stopPipelineService(s)));
    },
  };
}

/**
 * A Python virtual environment with the official SDKs under .costwise (created once; pip from PyPI,
 * with a deadline). Returns its python executable.
 */
export function ensurePythonSdks(dir = path.join(repoRoot, ".costwise/venv-gateway"), packages = ["openai", "anthropic"]): string {
  const python = path.join(dir, "bin", "python");
  const ready = existsSync(python) && spawnSync(python, ["-c", `import ${packages.join(", ")}`], { timeout: 30_000 }).status === 0;
  if (ready) return python;
  const run = (cmd: string, args: string[], what: string) => {
    process.stderr.write(`[python sdks] ${what}\n`);
    const r = spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], timeout: 600_000 });
    if (r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}): the gateway's Python SDK test needs python3 with venv and PyPI`);
  };
  run("python3", ["-m", "venv", dir], `creating ${path.relative(repoRoot, dir)}`);
  run(python, ["-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", ...packages], `pip install ${packages.join(" ")}`);
  return python;
}
