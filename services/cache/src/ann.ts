// A CommonJS addon: its exports are only reachable through the default import under ESM.
import hnswlib from "hnswlib-node";
import type { HierarchicalNSW } from "hnswlib-node";

/** What the index keeps per vector: enough to find the entry in Redis and to drop it on expiry or invalidation. */
export interface IndexedEntry {
  /** The entry's Redis key (store reference). */
  readonly ref: string;
  readonly tenant: string;
  readonly useCase: string;
  readonly expiresAt: number;
}

export interface Neighbour {
  readonly entry: IndexedEntry;
  /** Cosine similarity (vectors are unit length, so 1 − inner-product distance). */
  readonly similarity: number;
}

export interface AnnOptions {
  readonly dimensions: number;
  /** HNSW graph degree and build breadth (hnswlib defaults 16 / 200). */
  readonly m?: number;
  readonly efConstruction?: number;
  /** Search breadth; at least k. */
  readonly efSearch?: number;
  /** First capacity of a scope's index; it doubles as the scope grows. Small, because most scopes stay small. */
  readonly initialCapacity?: number;
}

interface Scope {
  readonly index: HierarchicalNSW;
  readonly labels: Map<number, IndexedEntry>;
  nextLabel: number;
  /** Slots of deleted vectors that new ones may take (hnswlib allowReplaceDeleted). */
  deleted: number;
}

/**
 * The in-process vector index: one hnswlib HNSW graph per cache scope, so a search can never
 * return another tenant's (or another system prompt's, context's, conversation's) query. Redis
 * holds the entries; this holds only vectors and references, and is rebuilt from Redis on start.
 */
export class ScopedAnnIndex {
  private readonly scopes = new Map<string, Scope>();
  private readonly byRef = new Map<string, { scope: string; label: number }>();
  private readonly opts: Required<AnnOptions>;

  constructor(opts: AnnOptions) {
    this.opts = { m: 16, efConstruction: 200, efSearch: 64, initialCapacity: 8, ...opts };
  }

  get size(): number {
    return this.byRef.size;
  }

  get scopeCount(): number {
    return this.scopes.size;
  }

  has(ref: string): boolean {
    return this.byRef.has(ref);
  }

  /** Add a vector; a reference already indexed is left as it is (replays and the replica event feed repeat adds). */
  add(scopeId: string, entry: IndexedEntry, vector: Float32Array): boolean {
    if (vector.length !== this.opts.dimensions) throw new RangeError(`vector has ${vector.length} dimensions, index has ${this.opts.dimensions}`);
    if (this.byRef.has(entry.ref)) return false;
    let scope = this.scopes.get(scopeId);
    if (!scope) {
      const index = new hnswlib.HierarchicalNSW("ip", this.opts.dimensions);
      index.initIndex({ maxElements: this.opts.initialCapacity, m: this.opts.m, efConstruction: this.opts.efConstruction, allowReplaceDeleted: true });
      index.setEf(this.opts.efSearch);
      scope = { index, labels: new Map(), nextLabel: 0, deleted: 0 };
      this.scopes.set(scopeId, scope);
    }
    const label = scope.nextLabel++;
    const point = Array.from(vector);
    if (scope.deleted > 0) {
      scope.index.addPoint(point, label, true);
      scope.deleted--;
    } else {
      if (scope.index.getCurrentCount() >= scope.index.getMaxElements()) scope.index.resizeIndex(scope.index.getMaxElements() * 2);
      scope.index.addPoint(point, label);
    }
    scope.labels.set(label, entry);
    this.byRef.set(entry.ref, { scope: scopeId, label });
    return true;
  }

  /** Up to k live neighbours in one scope, most similar first; expired ones are dropped on the way. */
  search(scopeId: string, vector: Float32Array, k: number, now: number): Neighbour[] {
    const scope = this.scopes.get(scopeId);
    if (!scope || scope.labels.size === 0) return [];
    const want = Math.min(k + 4, scope.index.getMaxElements());
    const { neighbors, distances } = scope.index.searchKnn(Array.from(vector), want);
    const out: Neighbour[] = [];
    neighbors.forEach((label, i) => {
      const entry = scope.labels.get(label);
      if (!entry) return;
      if (entry.expiresAt <= now) {
        this.remove(entry.ref);
        return;
      }
      if (out.length < k) out.push({ entry, similarity: 1 - distances[i]! });
    });
    return out;
  }

  remove(ref: string): boolean {
    const at = this.byRef.get(ref);
    if (!at) return false;
    const scope = this.scopes.get(at.scope)!;
    this.byRef.delete(ref);
    scope.labels.delete(at.label);
    if (scope.labels.size === 0) {
      // An empty scope frees its whole graph rather than keeping deleted slots.
      this.scopes.delete(at.scope);
      return true;
    }
    scope.index.markDelete(at.label);
    scope.deleted++;
    return true;
  }

  /** Drop every vector whose entry matches (invalidation by tenant / use case). */
  removeWhere(match: (e: IndexedEntry) => boolean): number {
    let n = 0;
    for (const [ref, at] of [...this.byRef]) {
      const e = this.scopes.get(at.scope)?.labels.get(at.label);
      if (e && match(e) && this.remove(ref)) n++;
    }
    return n;
  }

  /** Drop expired vectors (Redis expires the entries themselves). */
  sweep(now: number): number {
    return this.removeWhere((e) => e.expiresAt <= now);
  }

  clear(): void {
    this.scopes.clear();
    this.byRef.clear();
  }
}
