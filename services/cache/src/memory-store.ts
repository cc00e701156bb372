import { addInto, CALIBRATION_MAX_TRAFFIC, halve, totalTraffic } from "./calibration.ts";
import { emptyCalibration, type CalibrationState } from "./decision.ts";
import { namePart, OUTCOMES_KEEP_CHARS, OUTCOMES_MAX_CHARS, type CacheEntry, type CacheEvent, type CacheStore, type CalibrationRef, type CalibrationSeed, type InvalidateSelector, type PendingLookup, type StoredCalibration, type StoredCandidate } from "./store.ts";

/**
 * The cache store in one process's memory, with the Redis store's semantics (TTLs, atomic learn,
 * invalidation markers, change feed). For unit tests and the offline evaluation; not for services.
 */
export class MemoryCacheStore implements CacheStore {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly pending = new Map<string, { p: PendingLookup; expiresAt: number }>();
  private readonly outcomes = new Map<string, string>();
  private readonly markers = new Map<string, number>();
  private readonly feed: { id: string; event: CacheEvent }[] = [];
  private readonly calibrations = new Map<string, { state: CalibrationState; seeds: CalibrationSeed[] }>();
  private seq = 0;

  constructor(private readonly now: () => number = Date.now) {}

  ref(tenant: string, useCase: string, key: string): string {
    return `e:${namePart(tenant)}:${namePart(useCase)}:${key}`;
  }

  private live(ref: string): CacheEntry | null {
    const e = this.entries.get(ref);
    if (!e) return null;
    if (e.expires_at <= this.now()) {
      this.entries.delete(ref);
      return null;
    }
    return e;
  }

  async get(ref: string): Promise<CacheEntry | null> {
    return this.live(ref);
  }

  async getMany(refs: readonly string[]): Promise<(CacheEntry | null)[]> {
    return refs.map((r) => this.live(r));
  }

  async getCandidates(refs: readonly string[]): Promise<StoredCandidate[]> {
    return refs.map((r) => {
      const entry = this.live(r);
      return { entry, outcomes: entry ? this.outcomes.get(r) ?? null : null };
    });
  }

  async addOutcome(ref: string, item: string): Promise<void> {
    if (!this.live(ref)) return;
    const s = (this.outcomes.get(ref) ?? "") + item;
    this.outcomes.set(ref, s.length > OUTCOMES_MAX_CHARS ? s.slice(s.indexOf(";", s.length - OUTCOMES_KEEP_CHARS) + 1) : s);
  }

  async putPending(p: PendingLookup, ttlMs: number): Promise<void> {
    this.pending.set(p.request_id, { p, expiresAt: this.now() + ttlMs });
  }

  async getPending(requestId: string): Promise<PendingLookup | null> {
    const x = this.pending.get(requestId);
    return x && x.expiresAt > this.now() ? x.p : null;
  }

  async learn(entry: CacheEntry, requestId: string, askedAt: number): Promise<"stored" | "exists" | "invalidated"> {
    const t = namePart(entry.tenant);
    const u = namePart(entry.use_case);
    this.pending.delete(requestId);
    if ((this.markers.get(t) ?? 0) >= askedAt || (this.markers.get(`${t}:${u}`) ?? 0) >= askedAt) return "invalidated";
    const ref = this.ref(entry.tenant, entry.use_case, entry.key);
    if (this.live(ref)) return "exists";
    this.entries.set(ref, entry);
    if (entry.vector && entry.embedder) {
      this.push({ op: "add", ref, scope: entry.scope, tenant: entry.tenant, use_case: entry.use_case, vector: entry.vector, embedder: entry.embedder, expires_at: entry.expires_at });
    }
    return "stored";
  }

  async invalidate(sel: InvalidateSelector, now: number): Promise<number> {
    const t = namePart(sel.tenant);
    const u = sel.useCase === undefined ? undefined : namePart(sel.useCase);
    if (sel.key === undefined) this.markers.set(u === undefined ? t : `${t}:${u}`, now);
    let n = 0;
    for (const [ref, e] of this.entries) {
      if (e.tenant === sel.tenant && (sel.useCase === undefined || e.use_case === sel.useCase) && (sel.key === undefined || e.key === sel.key)) {
        this.entries.delete(ref);
        this.outcomes.delete(ref);
        n++;
      }
    }
    this.push({ op: "invalidate", tenant: sel.tenant, use_case: sel.useCase ?? null, key: sel.key ?? null });
    return n;
  }

  async readCalibration(ref: CalibrationRef): Promise<StoredCalibration> {
    const c = this.calibrations.get(JSON.stringify([ref.tenant, ref.useCase, ref.embedder, ref.neighbourhood]));
    const state = emptyCalibration();
    if (c) addInto(state, c.state);
    return { state, seeds: [...(c?.seeds ?? [])] };
  }

  async addCalibration(ref: CalibrationRef, delta: CalibrationState, seed?: CalibrationSeed): Promise<void> {
    const key = JSON.stringify([ref.tenant, ref.useCase, ref.embedder, ref.neighbourhood]);
    let c = this.calibrations.get(key);
    if (!c) this.calibrations.set(key, (c = { state: emptyCalibration(), seeds: [] }));
    addInto(c.state, delta);
    if (totalTraffic(c.state) > CALIBRATION_MAX_TRAFFIC) halve(c.state);
    if (seed) c.seeds.push(seed);
  }

  async scanVectors(onBatch: (entries: CacheEntry[]) => void): Promise<void> {
    const live = [...this.entries.keys()].map((r) => this.live(r)).filter((e): e is CacheEntry => e !== null && e.vector !== null);
    if (live.length > 0) onBatch(live);
  }

  async feedPosition(): Promise<string> {
    return String(this.seq);
  }

  async readFeed(after: string, count: number): Promise<{ id: string; event: CacheEvent }[]> {
    return this.feed.filter((f) => Number(f.id) > Number(after)).slice(0, count);
  }

  private push(event: CacheEvent) {
    this.feed.push({ id: String(++this.seq), event });
  }
}
