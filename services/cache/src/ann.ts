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
  /** Cosine similarity (vectors are unit length, so the inner product). */
  readonly similarity: number;
}

export interface AnnOptions {
  readonly dimensions: number;
  /** HNSW graph degree and build breadth. */
  readonly m?: number;
  readonly efConstruction?: number;
  /** HNSW search breadth; at least k. */
  readonly efSearch?: number;
  /**
   * Scopes up to this many vectors are searched exactly, by a scan of one packed array; a scope
   * that grows past it gets an HNSW graph. An hnswlib graph has a fixed cost of about 2.6 MB (its
   * per-label lock table), which many small scopes (one per conversation) cannot afford, and a
   * scan of a couple of thousand vectors takes well under a millisecond.
   */
  readonly exactScanLimit?: number;
}

/** A small scope: vectors packed row by row; slot i holds entries[i]. */
interface FlatScope {
  readonly kind: "flat";
  vectors: Float32Array;
  readonly entries: IndexedEntry[];
}

/** A large scope: an hnswlib HNSW graph; labels are never reused, deleted slots are. */
interface GraphScope {
  readonly kind: "graph";
  readonly index: HierarchicalNSW;
  readonly labels: Map<number, IndexedEntry>;
  readonly labelOf: Map<string, number>;
  nextLabel: number;
  deleted: number;
}

type Scope = FlatScope | GraphScope;

/**
 * The in-process vector index, one per cache scope, so a search can never return another
 * tenant's (or system prompt's, context's, conversation's) query. Redis holds the entries; this
 * holds vectors and references only, and is rebuilt from Redis on start.
 */
export class ScopedAnnIndex {
  private readonly scopes = new Map<string, Scope>();
  private readonly scopeOf = new Map<string, string>();
  private readonly opts: Required<AnnOptions>;

  constructor(opts: AnnOptions) {
    this.opts = { m: 16, efConstruction: 100, efSearch: 64, exactScanLimit: 2_048, ...opts };
  }

  get size(): number {
    return this.scopeOf.size;
  }

  get scopeCount(): number {
    return this.scopes.size;
  }

  /** Scopes large enough to have an HNSW graph. */
  get graphCount(): number {
    let n = 0;
    for (const s of this.scopes.values()) if (s.kind === "graph") n++;
    return n;
  }

  has(ref: string): boolean {
    return this.scopeOf.has(ref);
  }

  /** Add a vector; a reference already indexed is left as it is (replays and the replica change feed repeat adds). */
  add(scopeId: string, entry: IndexedEntry, vector: Float32Array): boolean {
    const dim = this.opts.dimensions;
    if (vector.length !== dim) throw new RangeError(`vector has ${vector.length} dimensions, index has ${dim}`);
    if (this.scopeOf.has(entry.ref)) return false;
    let scope = this.scopes.get(scopeId);
    if (!scope) this.scopes.set(scopeId, (scope = { kind: "flat", vectors: new Float32Array(dim), entries: [] }));
    if (scope.kind === "flat" && scope.entries.length >= this.opts.exactScanLimit) scope = this.promote(scopeId, scope);
    if (scope.kind === "flat") {
      const n = scope.entries.length;
      if ((n + 1) * dim > scope.vectors.length) {
        const grown = new Float32Array(scope.vectors.length * 2);
        grown.set(scope.vectors);
        scope.vectors = grown;
      }
      scope.vectors.set(vector, n * dim);
      scope.entries.push(entry);
    } else {
      this.addToGraph(scope, entry, vector);
    }
    this.scopeOf.set(entry.ref, scopeId);
    return true;
  }

  private addToGraph(g: GraphScope, entry: IndexedEntry, vector: Float32Array): void {
    const label = g.nextLabel++;
    const point = Array.from(vector);
    if (g.deleted > 0) {
      g.index.addPoint(point, label, true);
      g.deleted--;
    } else {
      if (g.index.getCurrentCount() >= g.index.getMaxElements()) g.index.resizeIndex(g.index.getMaxElements() * 2);
      g.index.addPoint(point, label);
    }
    g.labels.set(label, entry);
    g.labelOf.set(entry.ref, label);
  }

  private promote(scopeId: string, flat: FlatScope): GraphScope {
    const dim = this.opts.dimensions;
    const index = new hnswlib.HierarchicalNSW("ip", dim);
    index.initIndex({ maxElements: this.opts.exactScanLimit * 2, m: this.opts.m, efConstruction: this.opts.efConstruction, allowReplaceDeleted: true });
    index.setEf(this.opts.efSearch);
    const g: GraphScope = { kind: "graph", index, labels: new Map(), labelOf: new Map(), nextLabel: 0, deleted: 0 };
    flat.entries.forEach((e, i) => this.addToGraph(g, e, flat.vectors.subarray(i * dim, (i + 1) * dim)));
    this.scopes.set(scopeId, g);
    return g;
  }

  /** Up to k live neighbours in one scope, most similar first; expired ones are dropped on the way. */
  search(scopeId: string, vector: Float32Array, k: number, now: number): Neighbour[] {
    const scope = this.scopes.get(scopeId);
    if (!scope) return [];
    const found: { entry: IndexedEntry; similarity: number }[] = [];
    if (scope.kind === "flat") {
      const dim = this.opts.dimensions;
      const v = scope.vectors;
      for (let i = 0; i < scope.entries.length; i++) {
        let dot = 0;
        for (let j = 0, o = i * dim; j < dim; j++) dot += v[o + j]! * vector[j]!;
        found.push({ entry: scope.entries[i]!, similarity: dot });
      }
      found.sort((a, b) => b.similarity - a.similarity);
    } else {
      const want = Math.min(k + 4, scope.index.getMaxElements());
      const { neighbors, distances } = scope.index.searchKnn(Array.from(vector), want);
      neighbors.forEach((label, i) => {
        const entry = scope.labels.get(label);
        if (entry) found.push({ entry, similarity: 1 - distances[i]! });
      });
    }
    const out: Neighbour[] = [];
    for (const n of found) {
      if (n.entry.expiresAt <= now) this.remove(n.entry.ref);
      else if (out.length < k) out.push(n);
    }
    return out;
  }

  remove(ref: string): boolean {
    const scopeId = this.scopeOf.get(ref);
    if (scopeId === undefined) return false;
    const scope = this.scopes.get(scopeId)!;
    this.scopeOf.delete(ref);
    if (scope.kind === "flat") {
      // Move the last vector into the hole: the array stays packed.
      const dim = this.opts.dimensions;
      const i = scope.entries.findIndex((e) => e.ref === ref);
      const last = scope.entries.length - 1;
      if (i !== last) {
        scope.vectors.copyWithin(i * dim, last * dim, (last + 1) * dim);
        scope.entries[i] = scope.entries[last]!;
      }
      scope.entries.pop();
      if (scope.entries.length === 0) this.scopes.delete(scopeId);
      return true;
    }
    const label = scope.labelOf.get(ref)!;
    scope.labelOf.delete(ref);
    scope.labels.delete(label);
    if (scope.labels.size === 0) {
      this.scopes.delete(scopeId); // frees the whole graph
      return true;
    }
    scope.index.markDelete(label);
    scope.deleted++;
    return true;
  }

  /** Drop every vector whose entry matches (invalidation by tenant / use case). */
  removeWhere(match: (e: IndexedEntry) => boolean): number {
    const doomed: string[] = [];
    for (const scope of this.scopes.values()) {
      for (const e of scope.kind === "flat" ? scope.entries : scope.labels.values()) if (match(e)) doomed.push(e.ref);
    }
    for (const ref of doomed) this.remove(ref);
    return doomed.length;
  }

  /** Drop expired vectors (Redis expires the entries themselves). */
  sweep(now: number): number {
    return this.removeWhere((e) => e.expiresAt <= now);
  }

  clear(): void {
    this.scopes.clear();
    this.scopeOf.clear();
  }
}
