import { backoffDelay, errorMessage, sleep, type Logger, type OutputProducer, type RetryPolicy } from "@costwise/stream-runtime";
import type { PriceCatalog, Provider } from "@costwise/pricing";
import type { BatchMetrics } from "../metrics.ts";
import type { DeadlinePolicy } from "../policy.ts";
import type { BatchApi } from "../provider-api.ts";
import type { BatchStore } from "../store.ts";

export interface LifecycleSettings {
  /** Owner of the batches this process works on; a restart under the same id resumes them at once. */
  readonly instanceId: string;
  readonly pollInitialMs: number;
  readonly pollMaxMs: number;
  readonly tickMs: number;
  /** Another instance may take a batch over once its owner has not renewed the lease for this long. */
  readonly leaseMs: number;
  /** How often the stored batches are scanned for ones to resume. */
  readonly recoverEveryMs: number;
  /** Result lines turned into outputs per produce call. */
  readonly emitChunk: number;
  /** Backoff between failed provider/Redis/Kafka calls (attempts are unlimited: the batch is durable). */
  readonly backoff: RetryPolicy;
}

export interface LifecycleDeps {
  readonly store: BatchStore;
  readonly apis: Readonly<Record<Provider, BatchApi>>;
  /** Where the outcomes of finished batches go (the runtime's producer: they are not tied to a consumed input). */
  readonly output: OutputProducer;
  readonly catalog: PriceCatalog;
  readonly defaultModel: string | null;
  readonly policy: DeadlinePolicy;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: BatchMetrics;
  readonly settings: LifecycleSettings;
}

export interface Tracked {
  readonly id: string;
  nextAt: number;
  delay: number;
  busy: boolean;
}

export class LifecycleStoppedError extends Error {
  constructor() {
    super("batch lifecycle stopped");
    this.name = new.target.name;
  }
}

/**
 * What the three phases of a batch's life share: the batches this instance works on, the
 * shutdown signal, and the two ways a step is repeated (until it succeeds, or on the next poll).
 */
export class LifecycleCore {
  readonly tracked = new Map<string, Tracked>();
  /** Batches intake is claiming or submitting right now (their leases are renewed too). */
  readonly flushing = new Set<string>();
  readonly running = new Set<Promise<unknown>>();
  readonly stopping = new AbortController();

  constructor(readonly deps: LifecycleDeps) {}

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  spawn<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    const done = () => this.running.delete(p);
    p.then(done, done);
    return p;
  }

  /** Run `fn` until it succeeds; only shutdown ends the attempts (Redis and Kafka outages are waited out). */
  async persist<T>(what: string, id: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) throw new LifecycleStoppedError();
      try {
        return await fn();
      } catch (err) {
        if (this.stopped) throw new LifecycleStoppedError();
        const delay = backoffDelay(this.deps.settings.backoff, attempt);
        this.deps.logger.warn({ batchId: id, what, attempt, delayMs: delay, err: errorMessage(err) }, "batch step failed, retrying");
        await sleep(delay, this.stopping.signal).catch(() => undefined);
      }
    }
  }

  /** The batch will not run: its requests fall back (or fail) from the stored copies. */
  async fail(id: string, error: string): Promise<void> {
    this.deps.logger.error({ batchId: id, error }, "batch failed");
    await this.persist("fail", id, () => this.deps.store.update(id, { status: "ended", outcome: "failed", endedAt: this.deps.now(), error }));
    this.track(id, 0);
  }

  track(id: string, inMs: number): void {
    const t = this.tracked.get(id);
    if (t) t.nextAt = Math.min(t.nextAt, this.deps.now() + inMs);
    else this.tracked.set(id, { id, nextAt: this.deps.now() + inMs, delay: this.deps.settings.pollInitialMs, busy: false });
  }
}
