import { errorMessage, sleep, type Logger } from "@costwise/stream-runtime";
import type { ScopedAnnIndex } from "./ann.ts";
import type { CacheMetrics } from "./metrics.ts";
import { decodeVector, type CacheEvent, type CacheStore } from "./store.ts";

export interface IndexSyncOptions {
  readonly store: CacheStore;
  readonly index: ScopedAnnIndex;
  /** Only vectors of this embedder are indexed (another model's vectors are not comparable). */
  readonly embedder: string;
  readonly logger: Logger;
  readonly now: () => number;
  readonly metrics?: CacheMetrics;
  /** XREAD BLOCK time of the change feed. */
  readonly blockMs?: number;
  /** How often expired vectors are dropped from the index. */
  readonly sweepMs?: number;
}

/**
 * Keeps this replica's vector index equal to what Redis holds: a full rebuild (SCAN of every entry
 * with a vector) on start and after any gap in the change feed, then the feed's add/invalidate
 * events as they come. The feed position is taken before the scan, so nothing written during the
 * scan is missed (adds are idempotent by entry reference).
 */
export class IndexSync {
  private position = "0-0";
  private running = false;
  private loop: Promise<void> | undefined;
  private needsRebuild = true;
  private lastSweep = 0;

  constructor(private readonly opts: IndexSyncOptions) {}

  apply(event: CacheEvent): void {
    const { index, now } = this.opts;
    if (event.op === "add") {
      if (event.embedder === this.opts.embedder && event.expires_at > now()) {
        index.add(event.scope, { ref: event.ref, tenant: event.tenant, useCase: event.use_case, expiresAt: event.expires_at }, decodeVector(event.vector));
      }
      return;
    }
    index.removeWhere((e) => e.tenant === event.tenant && (event.use_case === null || e.useCase === event.use_case) && (event.key === null || e.ref.endsWith(`:${event.key}`)));
  }

  /** Replace the index with what Redis holds now. Returns the number of vectors indexed. */
  async rebuild(): Promise<number> {
    const { store, index, now } = this.opts;
    const position = await store.feedPosition();
    index.clear();
    const t = now();
    const others = new Map<string, number>();
    await store.scanVectors((entries) => {
      for (const e of entries) {
        if (e.embedder && e.embedder !== this.opts.embedder) others.set(e.embedder, (others.get(e.embedder) ?? 0) + 1);
        if (e.embedder !== this.opts.embedder || e.expires_at <= t || !e.vector) continue;
        index.add(e.scope, { ref: store.ref(e.tenant, e.use_case, e.key), tenant: e.tenant, useCase: e.use_case, expiresAt: e.expires_at }, decodeVector(e.vector));
      }
    });
    if (others.size > 0) {
      // Never compared with this model's vectors; they still serve exact hits until they expire.
      this.opts.logger?.warn({ embedder: this.opts.embedder, others: Object.fromEntries(others) }, "cache entries embedded with another model: exact hits only for them, never semantic");
    }
    this.position = position;
    this.needsRebuild = false;
    this.updateGauges();
    return index.size;
  }

  /** Read and apply the events after the current position once (tests, and the loop). */
  async catchUp(blockMs?: number): Promise<number> {
    const events = await this.opts.store.readFeed(this.position, 1_000, blockMs);
    for (const { id, event } of events) {
      this.apply(event);
      this.position = id;
    }
    this.updateGauges();
    return events.length;
  }

  /**
   * Rebuild (retrying while Redis is down) and follow the feed until stopped. Resolves after the
   * first successful rebuild, or after `waitMs` if Redis is not there: the caller may start serving
   * then (exact lookups work at once; semantic ones as soon as the rebuild lands).
   */
  start(waitMs = 0): Promise<boolean> {
    if (this.running) return Promise.resolve(!this.needsRebuild);
    this.running = true;
    let rebuilt: (ok: boolean) => void = () => undefined;
    const first = new Promise<boolean>((resolve) => {
      rebuilt = resolve;
      setTimeout(() => resolve(false), waitMs).unref();
    });
    this.loop = (async () => {
      while (this.running) {
        try {
          if (this.needsRebuild) {
            const n = await this.rebuild();
            this.opts.logger.info({ vectors: n, scopes: this.opts.index.scopeCount }, "vector index rebuilt from redis");
            rebuilt(true);
          }
          await this.catchUp(this.opts.blockMs ?? 1_000);
          const t = this.opts.now();
          if (t - this.lastSweep > (this.opts.sweepMs ?? 60_000)) {
            this.lastSweep = t;
            this.opts.index.sweep(t);
          }
        } catch (err) {
          if (!this.running) break;
          // We may have missed events while Redis was unreachable: start over from a scan.
          if (!this.needsRebuild) this.opts.logger.warn({ err: errorMessage(err) }, "change feed lost; index will be rebuilt when redis is back");
          this.needsRebuild = true;
          await sleep(1_000);
        }
      }
    })();
    return first;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private updateGauges() {
    this.opts.metrics?.indexEntries.set(this.opts.index.size);
    this.opts.metrics?.indexScopes.set(this.opts.index.scopeCount);
  }
}
