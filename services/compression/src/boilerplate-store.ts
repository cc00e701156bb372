import type { Redis } from "ioredis";

/** How often segments were seen in a use case's recent requests. */
export interface SegmentStats {
  /** Requests seen (decayed), the denominator of every share. */
  readonly requests: number;
  /** Key → decayed share of requests that contained it (0 when never seen). */
  readonly shares: ReadonlyMap<string, number>;
}

/**
 * Traffic memory of the boilerplate strategy. `observe` returns what was seen before this request
 * and, when `record` is set, then counts this request's keys (each once).
 */
export interface BoilerplateStore {
  observe(useCase: string, keys: readonly string[], record: boolean, now: number): Promise<SegmentStats>;
}

/**
 * Counts live in time buckets (one hash per use case and bucket) that expire after the window;
 * a bucket `age` buckets old weighs 0.5^(age / halfLifeBuckets), so what stopped recurring fades.
 */
export interface DecayOptions {
  readonly bucketMs: number;
  readonly windowBuckets: number;
  readonly halfLifeBuckets: number;
}

export const DEFAULT_DECAY: DecayOptions = { bucketMs: 3_600_000, windowBuckets: 24, halfLifeBuckets: 6 };

const REQUESTS_FIELD = "_n";

/** Per bucket, oldest last: the request count and the count of each key (null = absent). */
type BucketCounts = { age: number; n: number; counts: readonly (number | null)[] };

export function combineBuckets(keys: readonly string[], buckets: readonly BucketCounts[], d: DecayOptions): SegmentStats {
  let requests = 0;
  const seen = new Array<number>(keys.length).fill(0);
  for (const b of buckets) {
    const w = 0.5 ** (b.age / d.halfLifeBuckets);
    requests += w * b.n;
    b.counts.forEach((c, i) => (seen[i] = seen[i]! + w * (c ?? 0)));
  }
  const shares = new Map<string, number>();
  keys.forEach((k, i) => shares.set(k, requests > 0 ? Math.min(1, seen[i]! / requests) : 0));
  return { requests, shares };
}

export function redisBoilerplateStore(redis: Redis, opts: { prefix?: string; decay?: DecayOptions } = {}): BoilerplateStore {
  const d = opts.decay ?? DEFAULT_DECAY;
  const prefix = opts.prefix ?? "costwise:compression:boilerplate";
  const keyOf = (useCase: string, bucket: number) => `${prefix}:${useCase}:${bucket}`;
  return {
    async observe(useCase, allKeys, record, now) {
      const keys = [...new Set(allKeys)];
      const bucket = Math.floor(now / d.bucketMs);
      const fields = [REQUESTS_FIELD, ...keys];
      const pipe = redis.pipeline();
      for (let age = 0; age < d.windowBuckets; age++) pipe.hmget(keyOf(useCase, bucket - age), ...fields);
      if (record) {
        const k = keyOf(useCase, bucket);
        for (const f of fields) pipe.hincrby(k, f, 1);
        pipe.pexpire(k, (d.windowBuckets + 1) * d.bucketMs);
      }
      const replies = (await pipe.exec()) ?? [];
      const buckets: BucketCounts[] = [];
      for (let age = 0; age < d.windowBuckets; age++) {
        const [err, values] = replies[age] ?? [new Error("missing reply"), null];
        if (err) throw err;
        const nums = (values as (string | null)[]).map((v) => (v === null ? null : Number(v)));
        buckets.push({ age, n: nums[0] ?? 0, counts: nums.slice(1) });
      }
      for (const [err] of replies.slice(d.windowBuckets)) if (err) throw err;
      return combineBuckets(keys, buckets, d);
    },
  };
}

/** The same counting in process memory: for one-instance runs, the evaluation and tests. */
export function memoryBoilerplateStore(decay: DecayOptions = DEFAULT_DECAY): BoilerplateStore {
  const data = new Map<string, Map<number, Map<string, number>>>();
  return {
    async observe(useCase, allKeys, record, now) {
      const keys = [...new Set(allKeys)];
      const bucket = Math.floor(now / decay.bucketMs);
      const byBucket = data.get(useCase) ?? new Map<number, Map<string, number>>();
      data.set(useCase, byBucket);
      for (const b of byBucket.keys()) if (bucket - b >= decay.windowBuckets) byBucket.delete(b);
      const buckets: BucketCounts[] = [...byBucket.entries()].map(([b, m]) => ({
        age: bucket - b,
        n: m.get(REQUESTS_FIELD) ?? 0,
        counts: keys.map((k) => m.get(k) ?? null),
      }));
      const stats = combineBuckets(keys, buckets, decay);
      if (record) {
        const m = byBucket.get(bucket) ?? new Map<string, number>();
        byBucket.set(bucket, m);
        for (const f of [REQUESTS_FIELD, ...keys]) m.set(f, (m.get(f) ?? 0) + 1);
      }
      return stats;
    },
  };
}
