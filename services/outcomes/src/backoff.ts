import { Redis } from "ioredis";
import { z } from "zod";
import { PeriodicRefresh, type FallbackInfo } from "@costwise/route-state";

/**
 * A technique backed off for one use case because its measured success rate regressed against
 * its baseline (regression.ts): the cache serves that use case exact matches only, a cheap route
 * sends its traffic to the frontier tier. Written by the regression checker, read by the cache
 * and the router through BackoffView. Lifts at `until` unless the checker renews it.
 */
export const backoffSchema = z.object({
  /** `cache` or `route:<tier>`. */
  technique: z.string().min(1),
  use_case: z.string().min(1),
  since: z.number().int(),
  until: z.number().int(),
  success_rate: z.number().min(0).max(1),
  baseline_rate: z.number().min(0).max(1),
  samples: z.number().int().nonnegative(),
  baseline_samples: z.number().int().nonnegative(),
  p_value: z.number().min(0).max(1),
  reason: z.string(),
});
export type Backoff = z.infer<typeof backoffSchema>;

export const CACHE_TECHNIQUE = "cache";
export const routeTechnique = (tier: string) => `route:${tier}`;
const fieldOf = (technique: string, useCase: string) => JSON.stringify([technique, useCase]);

export interface BackoffStore {
  /** Put (or renew) a backoff; true when it was not in force before (the caller alerts once). */
  set(b: Backoff, now: number): Promise<boolean>;
  /** Every backoff still in force at `now`. */
  active(now: number): Promise<Backoff[]>;
  /** Operator reset: the technique serves again. */
  clear(technique: string, useCase: string): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_BACKOFF_KEY = "costwise:outcomes:backoff";

function parse(v: string): Backoff | null {
  const r = backoffSchema.safeParse(JSON.parse(v));
  return r.success ? r.data : null;
}

/** Backoffs in one Redis hash shared by every cache and router replica. */
export function redisBackoffStore(url: string, opts: { key?: string; timeoutMs: number; onError?: (err: Error) => void }): BackoffStore {
  const redis = new Redis(url, { commandTimeout: opts.timeoutMs, maxRetriesPerRequest: 1 });
  redis.on("error", (err: Error) => opts.onError?.(err));
  const key = opts.key ?? DEFAULT_BACKOFF_KEY;
  return {
    async set(b, now) {
      const field = fieldOf(b.technique, b.use_case);
      const before = await redis.hget(key, field);
      await redis.hset(key, field, JSON.stringify(backoffSchema.parse(b)));
      const prev = before === null ? null : parse(before);
      return prev === null || prev.until <= now;
    },
    async active(now) {
      const all = await redis.hgetall(key);
      return Object.values(all).map(parse).filter((b): b is Backoff => b !== null && b.until > now);
    },
    async clear(technique, useCase) {
      await redis.hdel(key, fieldOf(technique, useCase));
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export function memoryBackoffStore(): BackoffStore {
  const all = new Map<string, Backoff>();
  return {
    async set(b, now) {
      const field = fieldOf(b.technique, b.use_case);
      const prev = all.get(field);
      all.set(field, backoffSchema.parse(b));
      return prev === undefined || prev.until <= now;
    },
    async active(now) {
      return [...all.values()].filter((b) => b.until > now);
    },
    async clear(technique, useCase) {
      all.delete(fieldOf(technique, useCase));
    },
    async close() {},
  };
}

/**
 * The serving path's view of the backoffs: re-read every `refreshMs` in the background, so a
 * lookup or a route decision never waits on Redis; an unreachable store keeps the last states.
 */
export class BackoffView extends PeriodicRefresh {
  private states = new Map<string, Backoff>();

  constructor(
    private readonly store: Pick<BackoffStore, "active">,
    private readonly opts: { refreshMs: number; now?: () => number; onError?: (err: unknown) => void },
  ) {
    super(opts.refreshMs);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  get(technique: string, useCase: string): Backoff | null {
    const b = this.states.get(fieldOf(technique, useCase));
    return b && b.until > this.now() ? b : null;
  }

  /** The cache of this use case serves exact matches only. */
  cacheExactOnly(useCase: string): Backoff | null {
    return this.get(CACHE_TECHNIQUE, useCase);
  }

  /** The route's fallback, in the router's terms (its rolling agreement stands for the success rate). */
  routeFallback(useCase: string, tier: string): FallbackInfo | null {
    const b = this.get(routeTechnique(tier), useCase);
    return b ? { since: b.since, agreement: b.success_rate, samples: b.samples, floor: b.baseline_rate } : null;
  }

  async refresh(): Promise<void> {
    try {
      const list = await this.store.active(this.now());
      this.states = new Map(list.map((b) => [fieldOf(b.technique, b.use_case), b]));
    } catch (err) {
      this.opts.onError?.(err);
    }
  }
}
