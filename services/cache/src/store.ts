import { createHash } from "node:crypto";
import type { CalibrationState } from "./decision.ts";
import type { SalientDetails } from "./guard.ts";

/** The answer a cache entry serves, as the request that produced it was answered. */
export interface CachedAnswer {
  readonly content: string;
  readonly model: string | null;
  readonly provider: string | null;
  readonly input_tokens: number;
  readonly cached_input_tokens: number;
  readonly output_tokens: number;
  /** Absent in entries written before tool calls were cached: none, finish "stop". */
  readonly finish_reason?: string | null;
  readonly tool_calls?: readonly { readonly id: string; readonly name: string; readonly arguments: string }[];
}

/** One cache entry as stored in Redis (JSON, with the use case's TTL). */
export interface CacheEntry {
  readonly v: 1;
  readonly key: string;
  readonly scope: string;
  readonly tenant: string;
  readonly use_case: string;
  /** The query text the semantic guard compares with; never logged. */
  readonly query: string;
  readonly salient: SalientDetails & { readonly version: number };
  /** Unit vector as base64 little-endian float32, or null for exact-only entries. */
  readonly vector: string | null;
  /** Which embedder made the vector; vectors of another embedder are not indexed. */
  readonly embedder: string | null;
  readonly answer: CachedAnswer;
  /** The judge's embedding of the answer (base64 float32) when it keeps one (see AnswerVerifier.answerVector). */
  readonly answer_vector?: string | null;
  readonly source_request_id: string;
  readonly created_at: number;
  readonly expires_at: number;
}

/** What a miss leaves behind so the response can be stored under the request's key (learning). */
export interface PendingLookup {
  readonly v: 1;
  readonly request_id: string;
  readonly tenant: string;
  readonly use_case: string;
  readonly key: string;
  readonly scope: string;
  readonly query: string;
  /** Only semantic use cases get a vector (base64 float32); null when the embedder failed. */
  readonly semantic: boolean;
  readonly vector: string | null;
  readonly embedder: string | null;
  readonly ttl_seconds: number;
  readonly created_at: number;
  /** The semantic neighbour this request's answer is to be judged against (a near miss or an explored would-be hit). */
  readonly verify?: PendingVerification | null;
}

/**
 * Which calibration a decision used, from the two nearest candidates the guard let through:
 * `agree` when the judge finds their answers interchangeable (a neighbourhood of one answer),
 * `differ` when it does not (the query sits between two answers), `single` when there is no second
 * candidate or the judge cannot tell from what the entries hold (then one pooled calibration, as
 * without neighbourhoods). Wrong reuses concentrate where neighbours differ, so each kind of
 * neighbourhood learns its own boundary.
 */
export type Neighbourhood = "agree" | "differ" | "single";
export const NEIGHBOURHOODS: readonly Neighbourhood[] = ["agree", "differ", "single"];

export interface PendingVerification {
  readonly ref: string;
  readonly similarity: number;
  /** The neighbourhood the decision was calibrated in; the outcome lands in its bins. */
  readonly neighbourhood?: Neighbourhood;
  /** True: a would-be hit sent to the model for evidence; false: a near miss. */
  readonly explored: boolean;
}

/** A candidate read back for a semantic lookup: the entry and the reuse outcomes kept next to it. */
export interface StoredCandidate {
  readonly entry: CacheEntry | null;
  /** "similarity:ok;" items, newest last (see decision.ts). */
  readonly outcomes: string | null;
}

/** Outcome strings are trimmed past this many characters to about the newest OUTCOMES_KEEP_CHARS. */
export const OUTCOMES_MAX_CHARS = 640;
export const OUTCOMES_KEEP_CHARS = 340;

/** Change feed every replica applies to its vector index. */
export type CacheEvent =
  | { readonly op: "add"; readonly ref: string; readonly scope: string; readonly tenant: string; readonly use_case: string; readonly vector: string; readonly embedder: string; readonly expires_at: number }
  | { readonly op: "invalidate"; readonly tenant: string; readonly use_case: string | null; readonly key: string | null };

export interface InvalidateSelector {
  readonly tenant: string;
  readonly useCase?: string;
  readonly key?: string;
}

/** Whose calibration: one per tenant, use case and embedding model (similarities of two models are different scales). */
export interface CalibrationRef {
  readonly tenant: string;
  readonly useCase: string;
  readonly embedder: string;
  readonly neighbourhood: Neighbourhood;
}

/** Where seeded evidence came from (a warm start from labelled pairs), kept beside the counts it added. */
export interface CalibrationSeed {
  /** Labelled pairs added. */
  readonly pairs: number;
  /** The labelled file (its name) and the sha256 of its content. */
  readonly from: string;
  readonly sha256: string;
  readonly at: number;
  /** What embedding the file cost (0 for a local model); a cost of the cache, not of any request. */
  readonly embeddingNanoUsd: number;
}

/** A calibration as stored: the bin counts (live and seeded together) and the seeds that contributed. */
export interface StoredCalibration {
  readonly state: CalibrationState;
  readonly seeds: readonly CalibrationSeed[];
}

/**
 * The cache's storage port: Redis in production (redis-store.ts), a Map in unit tests and the
 * offline evaluation (memory-store.ts). Every method may reject when the backend is down or slow;
 * callers turn that into a miss.
 */
export interface CacheStore {
  /** The storage reference of an entry (its Redis key). */
  ref(tenant: string, useCase: string, key: string): string;
  get(ref: string): Promise<CacheEntry | null>;
  getMany(refs: readonly string[]): Promise<(CacheEntry | null)[]>;
  /** Entries and their reuse outcomes, in one round trip. */
  getCandidates(refs: readonly string[]): Promise<StoredCandidate[]>;
  /** Append one reuse outcome next to an entry (kept until the entry expires, newest items only). */
  addOutcome(ref: string, item: string, expiresAt: number): Promise<void>;
  putPending(pending: PendingLookup, ttlMs: number): Promise<void>;
  getPending(requestId: string): Promise<PendingLookup | null>;
  /**
   * Store an entry unless one exists under its key, publish it to the change feed when it has a
   * vector, and drop the pending record; refused when the tenant or use case was invalidated after
   * `askedAt`. Atomic: a replayed response finds the entry and changes nothing.
   */
  learn(entry: CacheEntry, requestId: string, askedAt: number): Promise<"stored" | "exists" | "invalidated">;
  invalidate(sel: InvalidateSelector, now: number): Promise<number>;
  /** The shared calibration of one tenant, use case and model (empty when none was recorded). */
  readCalibration(ref: CalibrationRef): Promise<StoredCalibration>;
  /**
   * Add bin counts atomically (replicas add concurrently). Bounded: past a total of traffic the
   * counts are halved, so old evidence fades and the record stays small. `seed` notes a warm start.
   */
  addCalibration(ref: CalibrationRef, delta: CalibrationState, seed?: CalibrationSeed): Promise<void>;
  /** Every live entry with a vector, in batches (index rebuild). */
  scanVectors(onBatch: (entries: CacheEntry[]) => void): Promise<void>;
  /** Position of the change feed now: read events after it. */
  feedPosition(): Promise<string>;
  readFeed(after: string, count: number, blockMs?: number): Promise<{ id: string; event: CacheEvent }[]>;
}

/** Hashed name parts: glob-safe for SCAN patterns whatever characters tenant and use case names hold. */
export const namePart = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);

export function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
}

export function decodeVector(s: string): Float32Array {
  const buf = Buffer.from(s, "base64");
  // Copy into an aligned buffer: a Buffer from the pool may start at an odd offset.
  return new Float32Array(new Uint8Array(buf).buffer);
}
