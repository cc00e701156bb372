import { requireModel } from "@costwise/pricing";
import { renderMessages } from "@costwise/schemas";
import { backoffDelay, errorMessage, PoisonMessageError, sleep } from "@costwise/stream-runtime";
import { batchBytes, type ClosedBatch } from "../accumulator.ts";
import { buildLine } from "../lines.ts";
import { mustAbandon } from "../policy.ts";
import type { BatchRecord } from "../store.ts";
import { decodeStored } from "../stored.ts";
import { LifecycleStoppedError, type LifecycleCore } from "./core.ts";

/** Closing → submitted: claim and store a closed batch's requests, and create the provider batch exactly once. */
export class Submission {
  constructor(private readonly core: LifecycleCore) {}

  /**
   * Make a closed batch durable and submit it. Resolves once it is submitted (or has failed for
   * good and is handed to the poller to fall back); only then may its offsets be committed.
   * Rejects only when the lifecycle stops: the batch is then resumed from Redis, and its requests,
   * still uncommitted in Kafka, are dropped as duplicates when they come back.
   */
  async flush(c: ClosedBatch): Promise<void> {
    if (this.core.stopped) throw new LifecycleStoppedError();
    this.core.flushing.add(c.id);
    try {
      await this.core.spawn(this.flushNow(c));
    } finally {
      for (const id of [...this.core.flushing]) if (id === c.id || id.startsWith(`${c.id}.`)) this.core.flushing.delete(id);
    }
  }

  private async flushNow(c: ClosedBatch): Promise<void> {
    const { store, settings, metrics, logger } = this.core.deps;
    const now = this.core.deps.now();
    const rec: BatchRecord = {
      id: c.id, provider: c.provider, model: c.model, status: "claiming", owner: settings.instanceId, leaseUntil: now + settings.leaseMs,
      reason: c.reason, openedAt: c.openedAt, createdAt: now, count: c.entries.length, bytes: c.bytes, earliestDeadline: c.earliestDeadline,
      fileId: null, providerBatchId: null, submittingAt: null, submittedAt: null, providerStatus: null, outcome: null, endedAt: null,
      cancelRequestedAt: null, cancelDisposition: null, cancelSentAt: null, error: null, doneAt: null, results: null,
    };
    metrics.flushes.inc({ reason: c.reason });
    // The same requests in the same order give the same id. If an earlier run stored that id (a
    // restart re-accumulated them), a suffixed id is used: the claims below keep what the earlier
    // batch holds out of this one, and only requests nobody holds are submitted here.
    let id = c.id;
    for (let n = 1; !(await this.core.persist("create", id, () => store.create({ ...rec, id }))); n++) {
      id = `${c.id}.${n}`;
      this.core.flushing.add(id);
    }
    if (id !== c.id) logger.info({ batchId: c.id, as: id }, "a batch with this id was stored by an earlier run; claiming under a new id");
    const claimed = await this.core.persist("claim", id, () =>
      store.claim(id, c.entries.map((e) => ({ requestId: e.requestId, customId: e.customId, attempt: e.attempt, stored: e.stored }))),
    );
    const kept = c.entries.filter((e) => claimed.has(e.customId));
    if (kept.length < c.entries.length) {
      metrics.duplicates.inc(c.entries.length - kept.length);
      logger.info({ batchId: id, dropped: c.entries.length - kept.length }, "requests already claimed by another batch dropped");
    }
    if (kept.length === 0) {
      await this.core.persist("discard", id, () => store.discard(id));
      return;
    }
    const bytes = batchBytes(kept.reduce((n, e) => n + e.lineBytes, 0), kept.length);
    await this.core.persist("claimed", id, () => store.update(id, { status: "claimed", count: kept.length, bytes }));
    for (const e of kept) metrics.queueDelaySeconds.observe(Math.max(0, now - e.acceptedAt) / 1000);
    await this.submit({ ...rec, id, status: "claimed", count: kept.length, bytes }, kept.map((e) => e.line));
  }

  /** Create the provider batch once: before any retry, look for one an earlier attempt created. */
  async submit(rec: BatchRecord, lines: readonly string[]): Promise<void> {
    const { store, apis, metrics, logger, policy } = this.core.deps;
    const api = apis[rec.provider];
    const log = logger.child({ batchId: rec.id, provider: rec.provider, model: rec.model });
    const submittingAt = rec.submittingAt ?? this.core.deps.now();
    if (rec.status !== "submitting") await this.core.persist("submitting", rec.id, () => store.update(rec.id, { status: "submitting", submittingAt }));
    let fileId = rec.fileId;
    let lookFirst = rec.status === "submitting";
    for (let attempt = 1; ; attempt++) {
      if (this.core.stopped) throw new LifecycleStoppedError();
      try {
        let providerBatchId: string | null = null;
        if (lookFirst) {
          providerBatchId = await api.find({ batchId: rec.id, since: submittingAt, count: rec.count, isKnown: (id) => store.isKnownProviderBatch(id) });
          if (providerBatchId) {
            metrics.adopted.inc({ provider: rec.provider });
            log.warn({ providerBatchId }, "found the provider batch an interrupted submission created; adopting it");
          }
        }
        if (!providerBatchId) {
          if (api.usesFile && !fileId) {
            const uploaded = await api.upload(rec.id, lines);
            fileId = uploaded;
            await this.core.persist("file", rec.id, () => store.update(rec.id, { fileId: uploaded }));
          }
          providerBatchId = await api.create({ batchId: rec.id, lines, fileId });
          metrics.submitted.inc({ provider: rec.provider });
          metrics.batchRequests.observe({ provider: rec.provider }, rec.count);
          log.info({ providerBatchId, count: rec.count, reason: rec.reason }, "batch submitted");
        }
        const pid = providerBatchId;
        await this.core.persist("submitted", rec.id, () => store.submitted(rec.id, pid, this.core.deps.now()));
        this.core.track(rec.id, this.core.deps.settings.pollInitialMs);
        return;
      } catch (err) {
        if (err instanceof LifecycleStoppedError || this.core.stopped) throw new LifecycleStoppedError();
        if (err instanceof PoisonMessageError) {
          await this.core.fail(rec.id, `the provider refused the batch: ${errorMessage(err)}`);
          return;
        }
        if (mustAbandon(rec.earliestDeadline, this.core.deps.now(), policy)) {
          await this.core.fail(rec.id, `submission kept failing until the deadline: ${errorMessage(err)}`);
          return;
        }
        // The create call may have reached the provider before failing: look before creating again.
        lookFirst = true;
        const delay = backoffDelay(this.core.deps.settings.backoff, attempt);
        log.warn({ attempt, delayMs: delay, err: errorMessage(err) }, "batch submission failed, retrying");
        await sleep(delay, this.core.stopping.signal).catch(() => undefined);
      }
    }
  }

  /** A batch interrupted before it was submitted: finish claiming, then submit (or adopt) it. */
  async resume(rec: BatchRecord): Promise<void> {
    const { store } = this.core.deps;
    let r = rec;
    if (r.status === "claiming") {
      // The crash cut claiming short: what was claimed is stored and forms the batch; the rest is still in Kafka.
      const count = await store.remainingCount(r.id);
      if (count === 0) {
        await store.discard(r.id);
        this.core.tracked.delete(r.id);
        return;
      }
      await store.update(r.id, { status: "claimed", count });
      r = { ...r, status: "claimed", count };
    }
    const price = requireModel(this.core.deps.catalog, r.model);
    const lines: string[] = [];
    for await (const ids of store.remaining(r.id)) {
      for (const p of await store.payloads(r.id, ids)) {
        if (p === null) continue;
        const { request } = decodeStored(p);
        lines.push(buildLine(price, request, renderMessages(request)).text);
      }
    }
    // The step keeps this batch busy while it submits, so no other pass resumes it twice.
    await this.submit({ ...r, count: lines.length }, lines);
  }
}
