import { errorMessage, PoisonMessageError } from "@costwise/stream-runtime";
import { mustAbandon } from "../policy.ts";
import type { ProviderBatchState } from "../provider-api.ts";
import type { BatchRecord } from "../store.ts";
import { LifecycleStoppedError, type LifecycleCore, type Tracked } from "./core.ts";
import type { Results } from "./emit.ts";
import type { Submission } from "./submit.ts";

/** Submitted → ended: poll each batch with backoff, resume orphaned ones, cancel those a deadline would miss. */
export class Polling {
  private nextRecoverAt = 0;
  private nextRenewAt = 0;
  private ticking = false;

  constructor(private readonly core: LifecycleCore, private readonly submission: Submission, private readonly results: Results) {}

  /** One pass: resume orphaned batches, renew leases, step every batch that is due. */
  async tick(): Promise<void> {
    if (this.ticking || this.core.stopped) return;
    this.ticking = true;
    try {
      const now = this.core.deps.now();
      if (now >= this.nextRecoverAt) {
        this.nextRecoverAt = now + this.core.deps.settings.recoverEveryMs;
        await this.recover(now);
      }
      if (now >= this.nextRenewAt && this.core.tracked.size + this.core.flushing.size > 0) {
        this.nextRenewAt = now + Math.floor(this.core.deps.settings.leaseMs / 3);
        // Batches still being claimed or submitted by intake are ours too: a slow provider must not let another instance submit them.
        const ids = [...new Set([...this.core.tracked.keys(), ...this.core.flushing])];
        const lost = await this.core.deps.store.renew(ids, this.core.deps.settings.instanceId, now + this.core.deps.settings.leaseMs);
        for (const id of lost) if (this.core.tracked.delete(id)) this.core.deps.logger.warn({ batchId: id }, "batch taken over by another instance");
      }
      for (const t of this.core.tracked.values()) {
        if (t.busy || t.nextAt > now) continue;
        t.busy = true;
        void this.core.spawn(this.step(t)).finally(() => {
          t.busy = false;
        });
      }
    } catch (err) {
      this.core.deps.logger.warn({ err: errorMessage(err) }, "batch poll pass failed");
    } finally {
      this.ticking = false;
    }
  }

  /** Take over stored batches that nobody works on: ours from before a restart, or those whose owner's lease ran out. */
  private async recover(now: number): Promise<void> {
    const { store, settings, logger } = this.core.deps;
    for (const rec of await store.active()) {
      if (this.core.tracked.has(rec.id) || this.core.flushing.has(rec.id)) continue;
      if (rec.owner !== settings.instanceId && rec.leaseUntil >= now) continue;
      if (await store.takeover(rec.id, settings.instanceId, now, settings.leaseMs)) {
        logger.info({ batchId: rec.id, status: rec.status, providerBatchId: rec.providerBatchId, from: rec.owner }, "resuming stored batch");
        this.core.track(rec.id, 0);
      }
    }
  }

  private async step(t: Tracked): Promise<void> {
    const { store, settings, logger } = this.core.deps;
    try {
      const rec = await store.get(t.id);
      if (!rec || rec.status === "done" || rec.owner !== settings.instanceId) {
        this.core.tracked.delete(t.id);
        return;
      }
      switch (rec.status) {
        case "claiming":
        case "claimed":
        case "submitting":
          await this.submission.resume(rec);
          return;
        case "submitted":
          await this.poll(t, rec);
          return;
        case "ended":
          await this.results.emit(rec);
          return;
      }
    } catch (err) {
      if (err instanceof LifecycleStoppedError || this.core.stopped) return;
      t.delay = Math.min(settings.pollMaxMs, Math.max(settings.pollInitialMs, t.delay * 2));
      t.nextAt = this.core.deps.now() + t.delay;
      logger.warn({ batchId: t.id, err: errorMessage(err), retryInMs: t.delay }, "batch step failed");
    }
  }

  private async poll(t: Tracked, rec: BatchRecord): Promise<void> {
    const { store, apis, settings, logger, policy } = this.core.deps;
    const api = apis[rec.provider];
    const pid = rec.providerBatchId!;
    const log = logger.child({ batchId: rec.id, providerBatchId: pid });
    if (rec.cancelRequestedAt !== null && rec.cancelSentAt === null) {
      try {
        await api.cancel(pid);
        log.info({ disposition: rec.cancelDisposition }, "batch cancel sent");
      } catch (err) {
        // Already finished (not cancellable any more): its results are used as they are.
        if (!(err instanceof PoisonMessageError)) throw err;
        log.info({ err: errorMessage(err) }, "batch could not be cancelled");
      }
      await store.update(rec.id, { cancelSentAt: this.core.deps.now() });
    }
    let state: ProviderBatchState;
    try {
      state = await api.retrieve(pid);
    } catch (err) {
      // 404 and the like: the provider no longer has the batch; its requests fall back from the stored copies.
      if (!(err instanceof PoisonMessageError)) throw err;
      await this.core.fail(rec.id, `the provider cannot find batch ${pid}: ${errorMessage(err)}`);
      return;
    }
    const now = this.core.deps.now();
    if (state.providerStatus !== rec.providerStatus) {
      await store.update(rec.id, { providerStatus: state.providerStatus });
      log.info({ status: state.providerStatus, counts: state.counts }, "batch status");
    }
    if (state.ended) {
      await store.update(rec.id, { status: "ended", outcome: state.outcome, endedAt: now, error: state.error });
      await this.results.emit({ ...rec, status: "ended", outcome: state.outcome, endedAt: now, error: state.error }, state);
      return;
    }
    if (rec.cancelRequestedAt === null && mustAbandon(rec.earliestDeadline, now, policy)) {
      log.warn({ earliestDeadline: rec.earliestDeadline }, "batch still running near its earliest deadline: cancelling it so its requests go real time");
      await store.requestCancel(rec.id, "realtime", now);
      t.delay = settings.pollInitialMs;
      t.nextAt = now;
      return;
    }
    t.delay = Math.min(settings.pollMaxMs, Math.round(t.delay * 1.5));
    t.nextAt = now + t.delay;
  }
}
