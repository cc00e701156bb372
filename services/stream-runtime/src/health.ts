/**
 * What /health reports. starting: start-up steps still running (or the consumer has not joined its
 * group yet); ready: consuming; degraded: running, but a dependency is failing and work waits or
 * retries (nothing is lost: inputs stay uncommitted); failed: the process cannot recover by itself
 * and should be restarted; stopping: draining after a signal.
 */
export type HealthStatus = "starting" | "ready" | "degraded" | "failed" | "stopping";

export interface HealthSnapshot {
  readonly status: HealthStatus;
  /** The start-up step running now (while starting). */
  readonly step?: string;
  readonly stepsDone: readonly string[];
  /** Why the service is degraded or failed, by component. */
  readonly reasons: Readonly<Record<string, string>>;
  readonly since: number;
}

/** HTTP status of each state: probes read 200 as "serving" (degraded included) and 503 otherwise. */
export function healthStatusCode(status: HealthStatus): 200 | 503 {
  return status === "ready" || status === "degraded" ? 200 : 503;
}

/** Liveness: only a failed process is worth a restart; a slow start or a dependency outage is not. */
export function livenessStatusCode(status: HealthStatus): 200 | 503 {
  return status === "failed" ? 503 : 200;
}

export class ServiceHealth {
  private phase: "starting" | "running" | "stopping" = "starting";
  private currentStep: string | undefined;
  private readonly done: string[] = [];
  private readonly problems = new Map<string, string>();
  private fatal: string | undefined;
  private changedAt: number;
  private lastStatus: HealthStatus = "starting";
  private readonly consumers: (() => boolean)[] = [];
  /** Loops of this process still starting (a service and its shadow loop start one after the other). */
  private pendingStarts = 0;
  private everReady = false;

  constructor(private readonly now: () => number = Date.now) {
    this.changedAt = now();
  }

  /** Run one named start-up step; /health and a start-up timeout name the step in progress. */
  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    this.currentStep = name;
    try {
      const out = await fn();
      this.done.push(name);
      return out;
    } finally {
      if (this.currentStep === name) this.currentStep = undefined;
    }
  }

  /** The step running now, or the last one finished. */
  currentStepName(): string {
    return this.currentStep ?? this.done[this.done.length - 1] ?? "(before the first step)";
  }

  /**
   * Start-up finished; from now on readiness follows the consumer's group membership. A process
   * running several loops (a service and its shadow loop) reports each: ready when all are.
   */
  running(consumerReady: () => boolean): void {
    this.consumers.push(consumerReady);
    this.pendingStarts = Math.max(0, this.pendingStarts - 1);
    if (this.pendingStarts === 0) this.phase = "running";
  }

  /** A loop begins to start: the process is not ready until it runs too. */
  loopStarting(): void {
    this.pendingStarts++;
    if (this.phase === "running") this.phase = "starting";
  }

  private consumerReady(): boolean {
    return this.consumers.every((ready) => ready());
  }

  stopping(): void {
    this.phase = "stopping";
  }

  degrade(component: string, reason: string): void {
    this.problems.set(component, reason);
  }

  recover(component: string): void {
    this.problems.delete(component);
  }

  fail(reason: string): void {
    this.fatal = reason;
  }

  status(): HealthStatus {
    let s: HealthStatus;
    if (this.fatal !== undefined) s = "failed";
    else if (this.phase === "stopping") s = "stopping";
    else if (this.phase === "starting") s = "starting";
    else if (!this.consumerReady()) s = this.everReady ? "degraded" : "starting";
    else s = this.problems.size > 0 ? "degraded" : "ready";
    if (s === "ready") this.everReady = true;
    if (s !== this.lastStatus) {
      this.lastStatus = s;
      this.changedAt = this.now();
    }
    return s;
  }

  snapshot(): HealthSnapshot {
    const status = this.status();
    const reasons: Record<string, string> = Object.fromEntries(this.problems);
    if (this.fatal !== undefined) reasons.fatal = this.fatal;
    if (this.phase === "running" && !this.consumerReady()) reasons.consumer = "not a member of its consumer group (joining, rebalancing or broker unreachable)";
    return {
      status,
      ...(status === "starting" && this.phase === "starting" ? { step: this.currentStepName() } : {}),
      stepsDone: [...this.done],
      reasons,
      since: this.changedAt,
    };
  }
}
