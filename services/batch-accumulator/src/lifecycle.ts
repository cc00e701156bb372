import { LifecycleCore, LifecycleStoppedError, type LifecycleDeps } from "./lifecycle/core.ts";
import { Results } from "./lifecycle/emit.ts";
import { Polling } from "./lifecycle/poll.ts";
import { Submission } from "./lifecycle/submit.ts";
import type { ClosedBatch } from "./accumulator.ts";

export { LifecycleStoppedError, type LifecycleDeps, type LifecycleSettings } from "./lifecycle/core.ts";

/**
 * Everything after a batch closes, in three phases (lifecycle/): submission (claim and store its
 * requests, submit it exactly once), polling (with backoff, resuming orphaned batches) and results
 * (responses, cost records, retries or real-time fallbacks). Every step reads and writes the stored
 * batch, so any instance restarted under the same id (or any instance once the lease ran out)
 * resumes where a crash left off.
 */
export class BatchLifecycle {
  private readonly core: LifecycleCore;
  private readonly submission: Submission;
  private readonly polling: Polling;
  private timer: NodeJS.Timeout | undefined;

  constructor(deps: LifecycleDeps) {
    this.core = new LifecycleCore(deps);
    this.submission = new Submission(this.core);
    this.polling = new Polling(this.core, this.submission, new Results(this.core));
  }

  /** Batches this instance currently works on (submitted, ended, or being resumed). */
  get trackedCount(): number {
    return this.core.tracked.size;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.core.deps.settings.tickMs);
    void this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.core.stopping.abort(new LifecycleStoppedError());
    await Promise.allSettled([...this.core.running]);
  }

  /**
   * Make a closed batch durable and submit it. Resolves once it is submitted (or has failed for
   * good and is handed to the poller to fall back); only then may its offsets be committed.
   * Rejects only when the lifecycle stops: the batch is then resumed from Redis.
   */
  flush(c: ClosedBatch): Promise<void> {
    return this.submission.flush(c);
  }

  /** One pass: resume orphaned batches, renew leases, step every batch that is due. */
  tick(): Promise<void> {
    return this.polling.tick();
  }
}
