import { topics } from "@costwise/schemas";
import { requireModel, type PriceCatalog, type Provider } from "@costwise/pricing";
import { renderMessages } from "@costwise/schemas";
import {
  backoffDelay,
  deadLetterRecord,
  errorMessage,
  PoisonMessageError,
  sleep,
  type Logger,
  type OutputProducer,
  type ProducedRecord,
  type RetryPolicy,
} from "@costwise/stream-runtime";
import { batchBytes, type ClosedBatch } from "./accumulator.ts";
import { buildLine } from "./lines.ts";
import type { BatchMetrics } from "./metrics.ts";
import { decide, type BatchContext, type Decision, type DecisionKind } from "./outcomes.ts";
import { mustAbandon, type DeadlinePolicy } from "./policy.ts";
import type { BatchApi, ProviderBatchState } from "./provider-api.ts";
import type { FailureKind, LineResult } from "./results.ts";
import type { BatchRecord, BatchStore } from "./store.ts";
import { decodeStored } from "./stored.ts";

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

interface Tracked {
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

const FAILURE_OF_OUTCOME: Record<string, FailureKind> = { failed: "failed", cancelled: "cancelled", expired: "expired" };

/**
 * Everything after a batch closes: claim and store its requests, submit it exactly once, poll it
 * with backoff, and turn its results into responses, cost records, retries or real-time fallbacks.
 * Every step reads and writes the stored batch, so any instance restarted under the same id (or
 * any instance once the lease ran out) resumes where a crash left off.
 */
export class BatchLifecycle {
  private readonly tracked = new Map<string, Tracked>();
  private readonly flushing = new Set<string>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private nextRecoverAt = 0;
  private nextRenewAt = 0;
  private ticking = false;

  constructor(private readonly deps: LifecycleDeps) {}

  /** Batches this instance currently works on (submitted, ended, or being resumed). */
  get trackedCount(): number {
    return this.tracked.size;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.deps.settings.tickMs);
    void this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stopping.abort(new LifecycleStoppedError());
    await Promise.allSettled([...this.running]);
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private spawn<T>(p: Promise<T>): Promise<T> {
    this.running.add(p);
    const done = () => this.running.delete(p);
    p.then(done, done);
    return p;
  }

  /** Run `fn` until it succeeds; only shutdown ends the attempts (Redis and Kafka outages are waited out). */
  private async persist<T>(what: string, id: string, fn: () => Promise<T>): Promise<T> {
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

  // ------------------------------------------------------------------ closing → submitted

  /**
   * Make a closed batch durable and submit it. Resolves once it is submitted (or has failed for
   * good and is handed to the poller to fall back); only then may its offsets be committed.
   * Rejects only when the lifecycle stops: the batch is then resumed from Redis, and its requests,
   * still uncommitted in Kafka, are dropped as duplicates when they come back.
   */
  async flush(c: ClosedBatch): Promise<void> {
    if (this.stopped) throw new LifecycleStoppedError();
    this.flushing.add(c.id);
    try {
      await this.spawn(this.flushNow(c));
    } finally {
      for (const id of [...this.flushing]) if (id === c.id || id.startsWith(`${c.id}.`)) this.flushing.delete(id);
    }
  }

  private async flushNow(c: ClosedBatch): Promise<void> {
    const { store, settings, metrics, logger } = this.deps;
    const now = this.deps.now();
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
    for (let n = 1; !(await this.persist("create", id, () => store.create({ ...rec, id }))); n++) {
      id = `${c.id}.${n}`;
      this.flushing.add(id);
    }
    if (id !== c.id) logger.info({ batchId: c.id, as: id }, "a batch with this id was stored by an earlier run; claiming under a new id");
    const claimed = await this.persist("claim", id, () =>
      store.claim(id, c.entries.map((e) => ({ requestId: e.requestId, customId: e.customId, attempt: e.attempt, stored: e.stored }))),
    );
    const kept = c.entries.filter((e) => claimed.has(e.customId));
    if (kept.length < c.entries.length) {
      metrics.duplicates.inc(c.entries.length - kept.length);
      logger.info({ batchId: id, dropped: c.entries.length - kept.length }, "requests already claimed by another batch dropped");
    }
    if (kept.length === 0) {
      await this.persist("discard", id, () => store.discard(id));
      return;
    }
    const bytes = batchBytes(kept.reduce((n, e) => n + e.lineBytes, 0), kept.length);
    await this.persist("claimed", id, () => store.update(id, { status: "claimed", count: kept.length, bytes }));
    for (const e of kept) metrics.queueDelaySeconds.observe(Math.max(0, now - e.acceptedAt) / 1000);
    await this.submit({ ...rec, id, status: "claimed", count: kept.length, bytes }, kept.map((e) => e.line));
  }

  /** Create the provider batch once: before any retry, look for one an earlier attempt created. */
  private async submit(rec: BatchRecord, lines: readonly string[]): Promise<void> {
    const { store, apis, metrics, logger, policy } = this.deps;
    const api = apis[rec.provider];
    const log = logger.child({ batchId: rec.id, provider: rec.provider, model: rec.model });
    const submittingAt = rec.submittingAt ?? this.deps.now();
    if (rec.status !== "submitting") await this.persist("submitting", rec.id, () => store.update(rec.id, { status: "submitting", submittingAt }));
    let fileId = rec.fileId;
    let lookFirst = rec.status === "submitting";
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) throw new LifecycleStoppedError();
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
            await this.persist("file", rec.id, () => store.update(rec.id, { fileId: uploaded }));
          }
          providerBatchId = await api.create({ batchId: rec.id, lines, fileId });
          metrics.submitted.inc({ provider: rec.provider });
          metrics.batchRequests.observe({ provider: rec.provider }, rec.count);
          log.info({ providerBatchId, count: rec.count, reason: rec.reason }, "batch submitted");
        }
        const pid = providerBatchId;
        await this.persist("submitted", rec.id, () => store.submitted(rec.id, pid, this.deps.now()));
        this.track(rec.id, this.deps.settings.pollInitialMs);
        return;
      } catch (err) {
        if (err instanceof LifecycleStoppedError || this.stopped) throw new LifecycleStoppedError();
        if (err instanceof PoisonMessageError) {
          await this.fail(rec.id, `the provider refused the batch: ${errorMessage(err)}`);
          return;
        }
        if (mustAbandon(rec.earliestDeadline, this.deps.now(), policy)) {
          await this.fail(rec.id, `submission kept failing until the deadline: ${errorMessage(err)}`);
          return;
        }
        // The create call may have reached the provider before failing: look before creating again.
        lookFirst = true;
        const delay = backoffDelay(this.deps.settings.backoff, attempt);
        log.warn({ attempt, delayMs: delay, err: errorMessage(err) }, "batch submission failed, retrying");
        await sleep(delay, this.stopping.signal).catch(() => undefined);
      }
    }
  }

  /** The batch will not run: its requests fall back (or fail) from the stored copies. */
  private async fail(id: string, error: string): Promise<void> {
    this.deps.logger.error({ batchId: id, error }, "batch failed");
    await this.persist("fail", id, () => this.deps.store.update(id, { status: "ended", outcome: "failed", endedAt: this.deps.now(), error }));
    this.track(id, 0);
  }

  private track(id: string, inMs: number): void {
    const t = this.tracked.get(id);
    if (t) t.nextAt = Math.min(t.nextAt, this.deps.now() + inMs);
    else this.tracked.set(id, { id, nextAt: this.deps.now() + inMs, delay: this.deps.settings.pollInitialMs, busy: false });
  }

  // ------------------------------------------------------------------ polling

  /** One pass: resume orphaned batches, renew leases, step every batch that is due. */
  async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const now = this.deps.now();
      if (now >= this.nextRecoverAt) {
        this.nextRecoverAt = now + this.deps.settings.recoverEveryMs;
        await this.recover(now);
      }
      if (now >= this.nextRenewAt && this.tracked.size + this.flushing.size > 0) {
        this.nextRenewAt = now + Math.floor(this.deps.settings.leaseMs / 3);
        // Batches still being claimed or submitted by intake are ours too: a slow provider must not let another instance submit them.
        const ids = [...new Set([...this.tracked.keys(), ...this.flushing])];
        const lost = await this.deps.store.renew(ids, this.deps.settings.instanceId, now + this.deps.settings.leaseMs);
        for (const id of lost) if (this.tracked.delete(id)) this.deps.logger.warn({ batchId: id }, "batch taken over by another instance");
      }
      for (const t of this.tracked.values()) {
        if (t.busy || t.nextAt > now) continue;
        t.busy = true;
        void this.spawn(this.step(t)).finally(() => {
          t.busy = false;
        });
      }
    } catch (err) {
      this.deps.logger.warn({ err: errorMessage(err) }, "batch poll pass failed");
    } finally {
      this.ticking = false;
    }
  }

  /** Take over stored batches that nobody works on: ours from before a restart, or those whose owner's lease ran out. */
  private async recover(now: number): Promise<void> {
    const { store, settings, logger } = this.deps;
    for (const rec of await store.active()) {
      if (this.tracked.has(rec.id) || this.flushing.has(rec.id)) continue;
      if (rec.owner !== settings.instanceId && rec.leaseUntil >= now) continue;
      if (await store.takeover(rec.id, settings.instanceId, now, settings.leaseMs)) {
        logger.info({ batchId: rec.id, status: rec.status, providerBatchId: rec.providerBatchId, from: rec.owner }, "resuming stored batch");
        this.track(rec.id, 0);
      }
    }
  }

  private async step(t: Tracked): Promise<void> {
    const { store, settings, logger } = this.deps;
    try {
      const rec = await store.get(t.id);
      if (!rec || rec.status === "done" || rec.owner !== settings.instanceId) {
        this.tracked.delete(t.id);
        return;
      }
      switch (rec.status) {
        case "claiming":
        case "claimed":
        case "submitting":
          await this.resume(rec);
          return;
        case "submitted":
          await this.poll(t, rec);
          return;
        case "ended":
          await this.emit(rec);
          return;
      }
    } catch (err) {
      if (err instanceof LifecycleStoppedError || this.stopped) return;
      t.delay = Math.min(settings.pollMaxMs, Math.max(settings.pollInitialMs, t.delay * 2));
      t.nextAt = this.deps.now() + t.delay;
      logger.warn({ batchId: t.id, err: errorMessage(err), retryInMs: t.delay }, "batch step failed");
    }
  }

  /** A batch interrupted before it was submitted: finish claiming, then submit (or adopt) it. */
  private async resume(rec: BatchRecord): Promise<void> {
    const { store } = this.deps;
    let r = rec;
    if (r.status === "claiming") {
      // The crash cut claiming short: what was claimed is stored and forms the batch; the rest is still in Kafka.
      const count = await store.remainingCount(r.id);
      if (count === 0) {
        await store.discard(r.id);
        this.tracked.delete(r.id);
        return;
      }
      await store.update(r.id, { status: "claimed", count });
      r = { ...r, status: "claimed", count };
    }
    const price = requireModel(this.deps.catalog, r.model);
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

  private async poll(t: Tracked, rec: BatchRecord): Promise<void> {
    const { store, apis, settings, logger, policy } = this.deps;
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
      await store.update(rec.id, { cancelSentAt: this.deps.now() });
    }
    let state: ProviderBatchState;
    try {
      state = await api.retrieve(pid);
    } catch (err) {
      // 404 and the like: the provider no longer has the batch; its requests fall back from the stored copies.
      if (!(err instanceof PoisonMessageError)) throw err;
      await this.fail(rec.id, `the provider cannot find batch ${pid}: ${errorMessage(err)}`);
      return;
    }
    const now = this.deps.now();
    if (state.providerStatus !== rec.providerStatus) {
      await store.update(rec.id, { providerStatus: state.providerStatus });
      log.info({ status: state.providerStatus, counts: state.counts }, "batch status");
    }
    if (state.ended) {
      await store.update(rec.id, { status: "ended", outcome: state.outcome, endedAt: now, error: state.error });
      await this.emit({ ...rec, status: "ended", outcome: state.outcome, endedAt: now, error: state.error }, state);
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

  // ------------------------------------------------------------------ results → outputs

  private async emit(rec: BatchRecord, polled?: ProviderBatchState): Promise<void> {
    const { store, apis, catalog, settings, logger } = this.deps;
    const api = apis[rec.provider];
    const price = requireModel(catalog, rec.model);
    const ctx: BatchContext = { batchId: rec.id, providerBatchId: rec.providerBatchId, price, submittedAt: rec.submittedAt, cancelDisposition: rec.cancelDisposition };
    const counts: Record<DecisionKind, number> = { ok: 0, batch: 0, realtime: 0, error: 0 };
    let chunk: LineResult[] = [];
    let outcome = rec.outcome;
    if (rec.providerBatchId && outcome !== "failed") {
      const pid = rec.providerBatchId;
      try {
        const state = polled ?? (await api.retrieve(pid));
        const onBadLine = (err: unknown) => logger.error({ batchId: rec.id, err: errorMessage(err) }, "unreadable result line skipped; its request is handled as missing");
        for await (const line of api.results(pid, state, onBadLine)) {
          chunk.push(line);
          if (chunk.length >= settings.emitChunk) {
            await this.emitChunk(rec, ctx, chunk, counts);
            chunk = [];
          }
        }
        await this.emitChunk(rec, ctx, chunk, counts);
      } catch (err) {
        if (!(err instanceof PoisonMessageError)) throw err;
        // The provider refuses to hand over results (gone, deleted): every request falls back.
        logger.error({ batchId: rec.id, providerBatchId: pid, err: errorMessage(err) }, "batch results unavailable");
        outcome = "failed";
      }
    }
    // Requests the results did not mention (a failed batch has none at all) still get their outcome.
    const kind: FailureKind = FAILURE_OF_OUTCOME[outcome ?? ""] ?? "missing";
    const message = rec.error ?? (kind === "missing" ? "the batch results have no line for this request" : `the batch ${kind}`);
    for await (const ids of store.remaining(rec.id, settings.emitChunk)) {
      await this.emitChunk(rec, ctx, ids.map((customId) => ({ customId, ok: false as const, retryable: true, kind, code: `batch_${kind}`, message })), counts);
    }
    const doneAt = this.deps.now();
    await this.persist("complete", rec.id, () => store.complete(rec.id, doneAt, counts));
    this.tracked.delete(rec.id);
    logger.info({ batchId: rec.id, providerBatchId: rec.providerBatchId, outcome: rec.outcome, ...counts }, "batch done");
  }

  private async emitChunk(rec: BatchRecord, ctx: BatchContext, lines: readonly LineResult[], counts: Record<DecisionKind, number>): Promise<void> {
    if (lines.length === 0) return;
    const { store, output, metrics, catalog, defaultModel, policy, apis, logger } = this.deps;
    const payloads = await store.payloads(rec.id, lines.map((l) => l.customId));
    const now = this.deps.now();
    const decisions: Decision[] = [];
    const seen = new Set<string>();
    const dlq: ProducedRecord[] = [];
    lines.forEach((line, i) => {
      const payload = payloads[i];
      // Null: outcome already produced (a redo after a crash), or a custom_id that is not ours.
      if (payload === null || payload === undefined || seen.has(line.customId)) return;
      seen.add(line.customId);
      const s = decodeStored(payload);
      const d = decide(line, s, ctx, { catalog, defaultModel, policy, parse: apis[rec.provider].parse }, now);
      decisions.push(d);
      if (d.deadLetter !== null) {
        const msg = { key: Buffer.from(s.request.request_id), value: output.serde.encode(topics.batch, s.request), headers: {}, offset: String(s.source.offset), timestamp: String(s.acceptedAt) };
        dlq.push(deadLetterRecord(topics.deadLetters, msg, { reason: d.deadLetter, service: "batch-accumulator", sourceTopic: s.source.topic, partition: s.source.partition, now, errorClass: "ProviderRejected" }));
      }
    });
    if (decisions.length === 0) return;
    await this.persist("claims", rec.id, () => store.markClaims(rec.id, decisions.flatMap((d) => (d.claim ? [{ requestId: d.requestId, value: d.claim }] : []))));
    const outputs = decisions.flatMap((d) => d.outputs);
    await this.persist("produce", rec.id, () => output.send(outputs, dlq));
    await this.persist("finish", rec.id, () => store.finish(rec.id, decisions.map((d) => d.customId)));
    for (const d of decisions) {
      counts[d.kind]++;
      metrics.outcomes.inc({ provider: rec.provider, outcome: d.kind });
    }
    logger.debug({ batchId: rec.id, lines: lines.length, decided: decisions.length }, "batch results emitted");
  }
}
