import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { silentLogger, type Logger } from "@costwise/stream-runtime";
import { enabledServices, isLoopback, loadStackConfig, SERVICE_NAMES, type ServiceName, type StackConfig } from "../config.ts";
import { containerSpecs, type ContainerService } from "./containers.ts";
import { composeStop, composeUp, dockerEngineAvailable } from "./docker.ts";
import { stackEnvValues, writeStackEnv } from "./env-file.ts";
import { gatewayDemoEnv } from "./gateway-keys.ts";
import { ServiceStartError, StackError } from "./errors.ts";
import { isHealthy, waitHealthy } from "./health.ts";
import { withLock } from "./lock.ts";
import { nativeServices, resolveTools, type NativeContext } from "./native.ts";
import { stackPaths, type StackPaths } from "./paths.ts";
import { isAlive, removeFile, runningPid, spawnDetached, stopProcess, tailFile } from "./process.ts";
import { provision, type ProvisionResult } from "./provision.ts";
import { ensureEmbeddingModel, STACK_EMBEDDING_MODELS } from "../models/embedding-model.ts";
import { startTestcontainer, stopTestcontainer } from "./testcontainers.ts";

export type RunMode = "native" | "docker" | "testcontainers";

export interface StackOptions {
  /** Parsed settings; default loadStackConfig(env). */
  config?: StackConfig;
  env?: NodeJS.ProcessEnv;
  /** Progress lines (fetching jars, starting, ready) go to logger.info. */
  logger?: Logger;
  /** Or just the progress lines as text, when no logger is given. */
  log?: (line: string) => void;
  /** Install a missing Redis or ClickHouse with apt-get when running as root on Debian (says so in a line); else the error names the command. */
  installMissing?: boolean;
}

export interface EnsureStackOptions extends StackOptions {
  /** Create topics, register schemas and apply migrations (default true). */
  provision?: boolean;
}

export interface ServiceState {
  readonly name: ServiceName;
  /** reused: already healthy at its endpoint; started: started by this call. */
  readonly status: "reused" | "started";
  readonly mode?: RunMode;
  readonly ms: number;
}

export interface StackInfo {
  readonly config: StackConfig;
  /** How missing services were started; undefined when everything was reused. */
  readonly mode?: RunMode;
  readonly services: readonly ServiceState[];
  readonly provisioned?: ProvisionResult;
  /** What was written to stack.env. */
  readonly env: Readonly<Record<string, string>>;
  readonly envFile: string;
}

interface Ctx extends NativeContext {
  readonly paths: StackPaths;
}

function context(opts: StackOptions): Ctx {
  const config = opts.config ?? loadStackConfig(opts.env ?? process.env);
  return { config, paths: stackPaths(config.home), logger: opts.logger ?? (opts.log ? lineLogger(opts.log) : silentLogger), ...(opts.installMissing ? { installMissing: true } : {}) };
}

/** Each native start appends this header to the service's log; error tails start at the last one. */
const RUN_HEADER = "===== costwise stack: starting";

/** A Logger that hands each message, without its fields, to `log`. */
export function lineLogger(log: (line: string) => void): Logger {
  const line = (_fields: object, msg?: string) => {
    if (msg) log(msg);
  };
  const logger: Logger = { error: line, warn: line, info: line, debug: () => undefined, child: () => logger };
  return logger;
}

const lockTimeout = (c: StackConfig) => c.startTimeoutMs * 3;

/** `auto`: docker compose when a Docker engine answers, else native processes. */
export async function resolveMode(config: StackConfig): Promise<RunMode> {
  if (config.mode !== "auto") return config.mode;
  return (await dockerEngineAvailable()) ? "docker" : "native";
}

function endpointOf(config: StackConfig, service: ServiceName): { host: string; port: number } {
  switch (service) {
    case "kafka": return config.kafka;
    case "schema-registry": return config.schemaRegistry;
    case "redis": return config.redis;
    case "clickhouse": return config.clickhouse;
    case "emulator": return config.emulator;
  }
}

/** Start native processes for `services` and wait until each is healthy. */
async function startNative(ctx: Ctx, services: readonly ServiceName[]): Promise<void> {
  if (services.length === 0) return;
  const { config, paths, logger } = ctx;
  const tools = await resolveTools(ctx, services);
  // Prepared and spawned concurrently: the JVMs take seconds each to come up, so every start
  // overlaps the others (artifact fetches are serialised inside native.ts).
  const settled = await Promise.allSettled(
    services.map(async (name) => {
      const svc = nativeServices[name];
      const pidFile = paths.pid(name);
      // Ours and still starting (an earlier run gave up early): wait for it rather than start twice.
      const existing = await runningPid(pidFile, svc.marker);
      if (existing !== undefined) {
        logger.info({ service: name, pid: existing }, `${name}: waiting for the running process ${existing}`);
        return { name, pid: existing };
      }
      const launch = await svc.prepare(ctx, tools);
      const logFile = paths.log(name);
      await mkdir(path.dirname(logFile), { recursive: true });
      await appendFile(logFile, `\n${RUN_HEADER} ${name} at ${new Date().toISOString()} =====\n`);
      const pid = await spawnDetached(launch, logFile, pidFile);
      const { host, port } = endpointOf(config, name);
      logger.info({ service: name, pid }, `${name}: started pid ${pid} on ${host}:${port}, log ${logFile}`);
      return { name, pid };
    }),
  );
  // Every launch has finished (or failed) before an error leaves: none keeps spawning unseen.
  const rejected = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (rejected) throw rejected.reason;
  const started = settled.map((r) => (r as PromiseFulfilledResult<{ name: ServiceName; pid: number }>).value);
  const failures: ServiceStartError[] = [];
  await Promise.all(
    started.map(async ({ name, pid }) => {
      const outcome = await waitHealthy(config, name, config.startTimeoutMs, () => !isAlive(pid));
      if (outcome === "healthy") {
        logger.info({ service: name }, `${name}: healthy`);
        return;
      }
      const logFile = paths.log(name);
      const reason =
        outcome === "exited"
          ? `the process (pid ${pid}) exited`
          : `not healthy after ${config.startTimeoutMs} ms (STACK_START_TIMEOUT_MS)`;
      if (outcome === "timeout") {
        await stopProcess(pid, nativeServices[name].stopTimeoutMs);
      }
      await removeFile(paths.pid(name));
      failures.push(new ServiceStartError(name, reason, logFile, await tailFile(logFile, 40, RUN_HEADER)));
    }),
  );
  if (failures.length === 1) throw failures[0]!;
  if (failures.length > 1) throw new StackError(failures.map((f) => f.message).join("\n\n"));
}

async function startContainers(ctx: Ctx, mode: "docker" | "testcontainers", services: readonly ContainerService[]): Promise<void> {
  if (services.length === 0) return;
  const { config, paths, logger } = ctx;
  const moved = services.filter((s) => endpointOf(config, s).port !== containerSpecs[s].ports[0]!.host);
  if (moved.length > 0) {
    throw new StackError(
      `STACK_MODE=${mode} publishes the fixed ports of docker-compose.yml, but these endpoints were moved: ${moved
        .map((s) => `${s} (${endpointOf(config, s).port}, expected ${containerSpecs[s].ports[0]!.host})`)
        .join(", ")}; unset the overrides or use STACK_MODE=native`,
    );
  }
  if (mode === "docker") {
    logger.info({ services }, `docker compose up -d --wait ${services.join(" ")}`);
    await composeUp(config, services);
    for (const s of services) await writeMarker(paths, s, "compose");
  } else {
    await Promise.all(
      services.map(async (s) => {
        logger.info({ service: s }, `${s}: starting its container with testcontainers`);
        await writeMarker(paths, s, `testcontainers ${await startTestcontainer(config, s)}`);
      }),
    );
  }
  // Health as this stack defines it (e.g. Kafka answering describeCluster from the host).
  await Promise.all(
    services.map(async (s) => {
      if ((await waitHealthy(config, s, config.startTimeoutMs)) !== "healthy") {
        throw new ServiceStartError(s, `its container is up but ${s} is not reachable at its endpoint from this host`);
      }
      logger.info({ service: s }, `${s}: healthy`);
    }),
  );
}

async function writeMarker(paths: StackPaths, service: ServiceName, text: string): Promise<void> {
  await mkdir(path.dirname(paths.container(service)), { recursive: true });
  await writeFile(paths.container(service), `${text}\n`);
}

async function startMissing(ctx: Ctx, down: readonly ServiceName[]): Promise<RunMode> {
  const { config } = ctx;
  const remote = down.filter((s) => !isLoopback(endpointOf(config, s).host));
  if (remote.length > 0) {
    throw new StackError(
      `not reachable, and not on this machine so it cannot be started here: ${remote
        .map((s) => `${s} (${endpointOf(config, s).host}:${endpointOf(config, s).port})`)
        .join(", ")}`,
    );
  }
  const mode = await resolveMode(config);
  const containerized = mode === "native" ? [] : down.filter((s): s is ContainerService => s !== "emulator");
  const native = down.filter((s) => !containerized.includes(s as ContainerService));
  await Promise.all([startNative(ctx, native), mode === "native" ? undefined : startContainers(ctx, mode, containerized)]);
  return mode;
}

/**
 * Make the whole local stack available: reuse every service already healthy at its endpoint,
 * start the others (STACK_MODE), provision topics, schemas and ClickHouse tables, and write
 * `.costwise/stack.env`. Safe to call any number of times, also concurrently.
 */
export async function ensureStack(opts: EnsureStackOptions = {}): Promise<StackInfo> {
  const ctx = context(opts);
  const { config, paths, logger } = ctx;
  return withLock(paths.lockFile, lockTimeout(config), async () => {
    const services = enabledServices(config);
    const t0 = Date.now();
    const healthy = await Promise.all(services.map((s) => isHealthy(config, s)));
    const down = services.filter((_, i) => !healthy[i]);
    for (const s of services.filter((_, i) => healthy[i])) logger.info({ service: s }, `${s}: reusing the healthy instance`);
    const mode = down.length > 0 ? await startMissing(ctx, down) : undefined;
    const ms = Date.now() - t0;
    let provisioned: ProvisionResult | undefined;
    if (opts.provision ?? true) {
      provisioned = await provision(config);
      const { topics, subjects, migrations } = provisioned;
      logger.info(
        { topics, subjects: subjects.map((s) => s.subject), migrations },
        `provisioned: ${topics.created.length} topic(s) created, ${subjects.length} subject(s) registered, ` +
          `${migrations.applied.length} migration(s) applied`,
      );
      // The local sentence-embedding models (from Maven Central, once); without its model the cache runs exact-only.
      for (const model of STACK_EMBEDDING_MODELS) {
        const modelDir = await ensureEmbeddingModel(config.home, { model });
        logger.info({ modelDir }, `embedding model ready: ${path.relative(process.cwd(), modelDir) || modelDir}`);
      }
    }
    const env = { ...stackEnvValues(config), ...(await gatewayDemoEnv(config.home, paths.envFile, opts.env ?? process.env)) };
    await writeStackEnv(paths.envFile, env);
    return {
      config,
      ...(mode ? { mode } : {}),
      services: services.map((name, i) => ({
        name,
        status: healthy[i] ? ("reused" as const) : ("started" as const),
        ...(healthy[i] || !mode ? {} : { mode: name === "emulator" ? ("native" as const) : mode }),
        ms: healthy[i] ? 0 : ms,
      })),
      ...(provisioned ? { provisioned } : {}),
      env,
      envFile: paths.envFile,
    };
  });
}

/** Stop one service if this stack started it. Returns false if nothing of ours was running. */
async function stopOwned(ctx: Ctx, service: ServiceName): Promise<boolean> {
  const { config, paths, logger } = ctx;
  const svc = nativeServices[service];
  const pid = await runningPid(paths.pid(service), svc.marker);
  await removeFile(paths.pid(service));
  if (pid !== undefined) {
    const how = await stopProcess(pid, svc.stopTimeoutMs);
    logger.info({ service, pid }, `${service}: stopped pid ${pid} (${how === "killed" ? "SIGKILL after timeout" : "SIGTERM"})`);
    return true;
  }
  const marker = (await readFile(paths.container(service), "utf8").catch(() => "")).trim();
  await removeFile(paths.container(service));
  if (marker === "compose") {
    await composeStop(config, service as ContainerService);
    logger.info({ service }, `${service}: docker compose stop`);
    return true;
  }
  if (marker.startsWith("testcontainers ")) {
    await stopTestcontainer(marker.slice("testcontainers ".length));
    logger.info({ service }, `${service}: container stopped`);
    return true;
  }
  return false;
}

/**
 * Stop every service this stack started (pid files / container markers), all at once: none
 * depends on another at shutdown. Services it only reused are left alone. Idempotent.
 */
export async function stopStack(opts: StackOptions = {}): Promise<{ stopped: ServiceName[] }> {
  const ctx = context(opts);
  return withLock(ctx.paths.lockFile, lockTimeout(ctx.config), async () => {
    const results = await Promise.all(SERVICE_NAMES.map(async (s) => ((await stopOwned(ctx, s)) ? s : undefined)));
    return { stopped: results.filter((s): s is ServiceName => s !== undefined) };
  });
}

/**
 * Stop one service that this stack started; its data stays on disk for startService.
 * Throws if the service is up but was not started by this stack (nothing here may stop it).
 */
export async function stopService(service: ServiceName, opts: StackOptions = {}): Promise<boolean> {
  const ctx = context(opts);
  return withLock(ctx.paths.lockFile, lockTimeout(ctx.config), async () => {
    if (await stopOwned(ctx, service)) return true;
    if (await isHealthy(ctx.config, service)) {
      throw new StackError(`${service} is running but was not started by the costwise stack (no pid file in ${ctx.paths.home}/run); stop it yourself`);
    }
    return false;
  });
}

/** Start one service (same mode as stack:up) and wait until it is healthy; reuses it if already up. */
export async function startService(service: ServiceName, opts: StackOptions = {}): Promise<ServiceState> {
  const ctx = context(opts);
  return withLock(ctx.paths.lockFile, lockTimeout(ctx.config), async () => {
    const t0 = Date.now();
    if (await isHealthy(ctx.config, service)) return { name: service, status: "reused", ms: 0 };
    const mode = await startMissing(ctx, [service]);
    return { name: service, status: "started", mode: service === "emulator" ? "native" : mode, ms: Date.now() - t0 };
  });
}
