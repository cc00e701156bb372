import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pipelineServices, replicaPort, spawnService, type PipelineServiceName, type PipelineServiceSpec } from "./services.ts";

/** One process to run: replica `index` of `service`, with its own health port. */
export interface InstanceSpec {
  readonly service: string;
  readonly index: number;
  /** `executor` for a single instance, `executor-1`, `executor-2`… for replicas. */
  readonly id: string;
  readonly port: number;
}

export class SupervisorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** `executor=3,cache=2` → replicas per service; unknown, non-scalable or non-positive entries are errors. */
export function parseReplicas(arg: string, table: readonly PipelineServiceSpec[] = pipelineServices): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of arg.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z][a-z0-9-]*)=(\d+)$/.exec(part);
    if (!m) throw new SupervisorError(`--replicas: "${part}" is not name=count (e.g. executor=3,cache=2)`);
    const spec = table.find((s) => s.name === m[1]);
    if (!spec) throw new SupervisorError(`--replicas: unknown service "${m[1]}" (services: ${table.map((s) => s.name).join(", ")})`);
    const n = Number(m[2]);
    if (n < 1 || n > 20) throw new SupervisorError(`--replicas: ${m[1]}=${n}: between 1 and 20 replicas`);
    if (n > 1 && !spec.scalable) throw new SupervisorError(`--replicas: ${m[1]} runs as one instance (it is not a consumer-group stage)`);
    out.set(m[1]!, n);
  }
  return out;
}

/** Every instance to run, with distinct ports; throws when two would share one. */
export function planInstances(table: readonly PipelineServiceSpec[], replicas: ReadonlyMap<string, number> = new Map(), only?: readonly string[]): InstanceSpec[] {
  const out: InstanceSpec[] = [];
  for (const spec of table) {
    if (only && !only.includes(spec.name)) continue;
    const n = replicas.get(spec.name) ?? 1;
    for (let i = 0; i < n; i++) out.push({ service: spec.name, index: i, id: n === 1 ? spec.name : `${spec.name}-${i + 1}`, port: replicaPort(spec, i) });
  }
  const seen = new Map<number, string>();
  for (const inst of out) {
    const other = seen.get(inst.port);
    if (other) throw new SupervisorError(`${inst.id} and ${other} would both listen on port ${inst.port}: fewer replicas or other metricsPort values`);
    seen.set(inst.port, inst.id);
  }
  return out;
}

/** What a health probe saw: serving (2xx), answering but not serving (503), nothing, or another process on the port. */
export type Probe = { kind: "serving" } | { kind: "not-serving"; status?: string } | { kind: "no-answer" } | { kind: "foreign"; pid: number };

/** A started process as the supervisor sees it. */
export interface ChildHandle {
  readonly pid: number | undefined;
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** Signal the whole process group. */
  signal(sig: NodeJS.Signals): void;
}

export interface SupervisorOptions {
  readonly instances: readonly InstanceSpec[];
  readonly launch: (inst: InstanceSpec) => ChildHandle;
  readonly probe: (inst: InstanceSpec, child: ChildHandle) => Promise<Probe>;
  readonly log: (line: string) => void;
  /** A fresh process must serve within this (a little above the services' STARTUP_TIMEOUT_MS). */
  readonly startTimeoutMs: number;
  /** A process that served and then answers nothing for this long is hung: restarted. */
  readonly unresponsiveMs: number;
  /** A process that answers but does not serve (starting, failed) for this long is restarted. */
  readonly notServingMs: number;
  readonly probeIntervalMs: number;
  /** Restart delays: initial × 2^(n-1), capped; n resets after `stableMs` of serving. */
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly stableMs: number;
  /** SIGTERM, then SIGKILL after this (longer than the services' SHUTDOWN_TIMEOUT_MS). */
  readonly stopGraceMs: number;
  /** Launches per instance before the first time it serves; past it the whole start fails. */
  readonly startAttempts: number;
}

export interface InstanceState {
  readonly spec: InstanceSpec;
  child: ChildHandle | undefined;
  restarts: number;
  served: boolean;
  lastReason: string | undefined;
}

/**
 * Runs every instance as its own process group and keeps it running: a process that exits, stops
 * answering /health, or does not serve in time is stopped (group SIGTERM, then SIGKILL) and started
 * again after an exponential backoff; each restart is logged and counted. `start()` resolves once
 * every instance serves, or stops everything it started and rejects. `stop()` stops them all.
 */
export class Supervisor {
  readonly states: InstanceState[];
  private stopping = false;
  private readonly wake = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly firstServe = new Map<string, { resolve: () => void; reject: (e: Error) => void; promise: Promise<void> }>();

  constructor(private readonly opts: SupervisorOptions) {
    this.states = opts.instances.map((spec) => ({ spec, child: undefined, restarts: 0, served: false, lastReason: undefined }));
    for (const s of opts.instances) {
      let resolve!: () => void;
      let reject!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined);
      this.firstServe.set(s.id, { resolve, reject, promise });
    }
  }

  get restarts(): number {
    return this.states.reduce((n, s) => n + s.restarts, 0);
  }

  async start(): Promise<void> {
    for (const st of this.states) this.loops.push(this.supervise(st));
    try {
      await Promise.all(this.states.map((st) => this.firstServe.get(st.spec.id)!.promise));
    } catch (err) {
      this.opts.log(`start failed: ${(err as Error).message}; stopping everything started`);
      await this.stop();
      throw err;
    }
  }

  /** Stop every instance (SIGTERM to each group, SIGKILL after the grace) and wait until all are gone. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake.abort();
    await Promise.all(this.states.map((st) => this.terminate(st)));
    await Promise.all(this.loops);
  }

  /** SIGKILL every group now (second Ctrl-C, or the supervisor itself exiting). Synchronous. */
  killAll(): void {
    this.stopping = true;
    for (const st of this.states) st.child?.signal("SIGKILL");
  }

  private async terminate(st: InstanceState): Promise<void> {
    const child = st.child;
    if (!child) return;
    let gone = false;
    void child.exited.then(() => (gone = true));
    child.signal("SIGTERM");
    const deadline = Date.now() + this.opts.stopGraceMs;
    while (!gone && Date.now() < deadline) await sleep(50);
    if (!gone) {
      this.opts.log(`${st.spec.id}: no exit ${this.opts.stopGraceMs} ms after SIGTERM: SIGKILL`);
      child.signal("SIGKILL");
      await child.exited;
    }
    child.signal("SIGKILL"); // what is left of its group
  }

  private async supervise(st: InstanceState): Promise<void> {
    const { opts } = this;
    let consecutive = 0;
    let launches = 0;
    while (!this.stopping) {
      launches++;
      const child = opts.launch(st.spec);
      st.child = child;
      const reason = await this.watch(st, child, () => (consecutive = 0));
      if (this.stopping) return;
      st.lastReason = reason;
      if (!reason.startsWith("exited")) await this.terminate(st);
      // Anything the process started lives on in its group after it exited: the group goes with it.
      child.signal("SIGKILL");
      if (this.stopping) return;
      if (!st.served && launches >= opts.startAttempts) {
        this.firstServe.get(st.spec.id)!.reject(new SupervisorError(`${st.spec.id} did not start after ${launches} attempt(s): ${reason}`));
        return;
      }
      consecutive++;
      st.restarts++;
      const delay = Math.min(opts.backoffMaxMs, opts.backoffInitialMs * 2 ** (consecutive - 1));
      opts.log(`${st.spec.id} ${reason}: restart #${st.restarts} in ${delay} ms`);
      try {
        await sleep(delay, undefined, { signal: this.wake.signal });
      } catch {
        return; // stopping
      }
    }
  }

  /** Probe until the process must be replaced; returns why. */
  private async watch(st: InstanceState, child: ChildHandle, onStable: () => void): Promise<string> {
    const { opts } = this;
    let exit: string | undefined;
    void child.exited.then((c) => (exit = `exited (${String(c)})`));
    const launched = Date.now();
    let lastAnswer: number | undefined;
    let lastServing: number | undefined;
    let servingSince: number | undefined;
    while (!this.stopping) {
      if (exit) return exit;
      const p = await opts.probe(st.spec, child);
      if (exit) return exit;
      const now = Date.now();
      if (p.kind === "foreign") {
        this.firstServe.get(st.spec.id)!.reject(new SupervisorError(`port ${st.spec.port} of ${st.spec.id} is held by another process (pid ${p.pid})`));
        this.stopping = true;
        return `port held by pid ${p.pid}`;
      }
      if (p.kind !== "no-answer") lastAnswer = now;
      if (p.kind === "serving") {
        lastServing = now;
        servingSince ??= now;
        if (!st.served) {
          st.served = true;
          opts.log(`${st.spec.id} serving on :${st.spec.port}`);
          this.firstServe.get(st.spec.id)!.resolve();
        }
        if (now - servingSince >= opts.stableMs) onStable();
      } else {
        servingSince = undefined;
      }
      if (lastServing === undefined) {
        if (now - launched > opts.startTimeoutMs) return `not serving ${opts.startTimeoutMs} ms after launch (${p.kind === "not-serving" ? p.status ?? "503" : "no answer"})`;
      } else if (p.kind === "no-answer" && now - (lastAnswer ?? launched) > opts.unresponsiveMs) {
        return `stopped answering /health for ${now - (lastAnswer ?? launched)} ms`;
      } else if (p.kind === "not-serving" && now - lastServing > opts.notServingMs) {
        return `not serving (${p.status ?? "503"}) for ${now - lastServing} ms`;
      }
      try {
        await sleep(opts.probeIntervalMs, undefined, { signal: this.wake.signal });
      } catch {
        break;
      }
    }
    return "stopping";
  }
}

/** GET /health with a deadline: what `npm start` and the drills use as the probe. */
export async function probeHealth(inst: InstanceSpec, child: ChildHandle, timeoutMs = 2_000): Promise<Probe> {
  try {
    const res = await fetch(`http://127.0.0.1:${inst.port}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => ({}))) as { pid?: number; status?: string };
    // Another process answering on the port (a leftover instance) is not this service being healthy.
    if (body.pid !== undefined && child.pid !== undefined && body.pid !== child.pid) return { kind: "foreign", pid: body.pid };
    if (res.ok) return { kind: "serving" };
    return { kind: "not-serving", ...(body.status ? { status: body.status } : {}) };
  } catch {
    return { kind: "no-answer" };
  }
}

/** Timings of `npm start` (and the drills), from the services' own deadlines. */
export function defaultTimings(env: { STARTUP_TIMEOUT_MS?: string; SHUTDOWN_TIMEOUT_MS?: string } = {}): Omit<SupervisorOptions, "instances" | "launch" | "probe" | "log"> {
  const startup = Number(env.STARTUP_TIMEOUT_MS ?? 120_000);
  const shutdown = Number(env.SHUTDOWN_TIMEOUT_MS ?? 30_000);
  return {
    // The service exits by itself at STARTUP_TIMEOUT_MS naming its step; this only catches a process that cannot even do that.
    startTimeoutMs: startup + 15_000,
    // Three missed probes of a Kubernetes liveness probe at its defaults: long enough for a model load that blocks the event loop on a busy machine.
    unresponsiveMs: 30_000,
    notServingMs: startup,
    probeIntervalMs: 1_000,
    backoffInitialMs: 1_000,
    backoffMaxMs: 30_000,
    stableMs: 60_000,
    stopGraceMs: shutdown + 5_000,
    startAttempts: 3,
  };
}

/**
 * A supervisor over pipeline services as detached Node processes (spawnService), each told the
 * supervisor's pid so that it stops by itself if the supervisor dies without stopping it.
 */
export function pipelineSupervisor(opts: {
  env: Record<string, string>;
  instances: readonly InstanceSpec[];
  log: (line: string) => void;
  /** Per-instance log files in this directory (else the services inherit stdout/stderr). */
  logDir?: string;
  /** Extra environment per instance (e.g. a drill slowing one replica). */
  instanceEnv?: (inst: InstanceSpec) => Record<string, string>;
  timings?: Partial<Omit<SupervisorOptions, "instances" | "launch" | "probe" | "log">>;
}): Supervisor {
  return new Supervisor({
    ...defaultTimings(opts.env),
    ...opts.timings,
    instances: opts.instances,
    log: opts.log,
    probe: (inst, child) => probeHealth(inst, child),
    launch: (inst) => {
      const svc = spawnService(inst.service as PipelineServiceName, { ...opts.env, ...opts.instanceEnv?.(inst), COSTWISE_SUPERVISOR_PID: String(process.pid) }, {
        detached: true,
        metricsPort: inst.port,
        instance: inst.id,
        ...(opts.logDir ? { logFile: path.join(opts.logDir, `${inst.id}.log`) } : {}),
      });
      return { pid: svc.child.pid, exited: svc.exited, signal: (sig) => svc.signal(sig) };
    },
  });
}
