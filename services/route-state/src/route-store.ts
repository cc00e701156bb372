import { Redis } from "ioredis";
import type { Message } from "@costwise/schemas";
import { PeriodicRefresh } from "./periodic.ts";

/** A route whose measured agreement fell below its floor; requests for it go to the last tier. */
export interface FallbackInfo {
  readonly since: number;
  readonly agreement: number;
  readonly samples: number;
  readonly floor: number;
}

/** What the shadow consumer needs to compare the two answers once the served one arrives. */
export interface ShadowEntry {
  readonly request_id: string;
  readonly tenant: string;
  readonly use_case: string;
  readonly created_at: number;
  readonly strategy: string;
  readonly score: number | null;
  readonly cheapTier: string;
  readonly frontierTier: string;
  readonly cheapModel: string;
  readonly frontierModel: string;
  /** The model the request was sent to: the cheap one, or the frontier one while the route is in fallback. */
  readonly servedModel: string;
  readonly fallback: boolean;
  /**
   * Served by the frontier because its score was at or above the threshold, and compared with the
   * cheap model's answer only so that calibration sees both sides of the threshold: the comparison
   * is recorded but not counted in the route's agreement window (absent in older entries: false).
   */
  readonly calibration?: boolean;
  readonly messages: Message[];
  readonly maxTokens: number | null;
  readonly temperature: number | null;
}

/**
 * The other tier's answer to a shadowed request, kept once paid for: if judging it fails and the
 * comparison is retried, the retry judges this answer instead of paying for the call again.
 */
export interface ShadowAnswer {
  readonly content: string;
  readonly model: string;
  readonly usage: { readonly inputTokens: number; readonly cachedInputTokens: number; readonly cacheWriteInputTokens: number; readonly outputTokens: number };
}

/**
 * Shared router state (Redis in production): shadowed requests waiting for their answer, the
 * rolling agreement window of every route, and which routes are in fallback. Every router
 * instance reads and writes the same state, so a fallback decided by one applies to all.
 */
export interface RouteStore {
  rememberShadow(entry: ShadowEntry, ttlSeconds: number): Promise<void>;
  /** The pending entries for these request ids, in order (null: not shadowed, or expired). */
  pendingShadows(requestIds: readonly string[]): Promise<(ShadowEntry | null)[]>;
  /**
   * Forget a pending entry and, only if it was still pending (a redelivered answer is not counted
   * twice), push `agreed` (1/0; null: nothing to count) into the route's window, trimmed to
   * `windowSize`. Returns the window, newest first, and whether this call counted.
   */
  completeShadow(requestId: string, route: RouteKey, agreed: 0 | 1 | null, windowSize: number): Promise<{ window: number[]; counted: boolean }>;
  /** Keep the paid shadow answer of a request for `ttlSeconds` (forgotten by completeShadow). */
  rememberShadowAnswer(requestId: string, answer: ShadowAnswer, ttlSeconds: number): Promise<void>;
  /** The kept shadow answer of a request; null when none was kept or it expired. */
  shadowAnswer(requestId: string): Promise<ShadowAnswer | null>;
  window(route: RouteKey): Promise<number[]>;
  fallbacks(): Promise<Map<string, FallbackInfo>>;
  /** Put the route into fallback unless it already is; true if this call did it (one instance logs the transition). */
  enterFallback(route: RouteKey, info: FallbackInfo): Promise<boolean>;
  /** Take the route out of fallback; true if it was in fallback. */
  leaveFallback(route: RouteKey): Promise<boolean>;
  /** Refresh the measured figures of a route that is (still) in fallback; no-op otherwise. */
  updateFallback(route: RouteKey, info: FallbackInfo): Promise<void>;
  /** Operator reset: leave fallback and forget the window, so the route starts measuring afresh. */
  resetRoute(route: RouteKey): Promise<void>;
  /** Remember that these requests were answered by a cheap route, for their outcomes (llm.outcomes), for `ttlSeconds`. */
  rememberServed(served: readonly { requestId: string; route: RouteKey }[], ttlSeconds: number): Promise<void>;
  /**
   * Count a request's outcome (1 success, 0 failure) in the window of the route that answered it,
   * trimmed to `windowSize`, once: the remembered answer is consumed. Null when the request was
   * not answered by a cheap route, was forgotten, or already counted.
   */
  countOutcome(requestId: string, success: 0 | 1, windowSize: (route: RouteKey) => number): Promise<{ route: RouteKey; window: number[] } | null>;
  close(): Promise<void>;
}

export interface RouteKey {
  readonly useCase: string;
  readonly tier: string;
}

/** The map key of a route in `fallbacks()`. */
export const routeId = (r: RouteKey) => JSON.stringify([r.useCase, r.tier]);

const COMPLETE_SCRIPT = `
local removed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[3])
if removed == 1 and ARGV[1] ~= '' then
  redis.call('LPUSH', KEYS[2], ARGV[1])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
end
return {removed, redis.call('LRANGE', KEYS[2], 0, -1)}
`;

const UPDATE_IF_PRESENT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
`;

export interface RedisStoreOptions {
  readonly prefix: string;
  /** Commands slower than this fail (routing must not wait on a slow Redis). */
  readonly timeoutMs: number;
  readonly onError?: (err: Error) => void;
}

export function redisRouteStore(url: string, opts: RedisStoreOptions): RouteStore {
  const redis = new Redis(url, { commandTimeout: opts.timeoutMs, maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on("error", (err: Error) => opts.onError?.(err));
  const p = opts.prefix;
  const shadowKey = (id: string) => `${p}:shadow:${id}`;
  const answerKey = (id: string) => `${p}:shadow-answer:${id}`;
  const windowKey = (r: RouteKey) => `${p}:window:${r.useCase}:${r.tier}`;
  const fallbackKey = `${p}:fallback`;
  const servedKey = (id: string) => `${p}:served:${id}`;
  const parse = (v: string | null) => (v === null ? null : (JSON.parse(v) as ShadowEntry));

  return {
    async rememberShadow(entry, ttl) {
      await redis.set(shadowKey(entry.request_id), JSON.stringify(entry), "EX", ttl);
    },
    async pendingShadows(ids) {
      if (ids.length === 0) return [];
      return (await redis.mget(...ids.map(shadowKey))).map(parse);
    },
    async completeShadow(id, route, agreed, size) {
      const [removed, list] = (await redis.eval(COMPLETE_SCRIPT, 3, shadowKey(id), windowKey(route), answerKey(id), agreed === null ? "" : String(agreed), String(size))) as [number, string[]];
      return { window: list.map(Number), counted: removed === 1 && agreed !== null };
    },
    async rememberShadowAnswer(id, answer, ttl) {
      await redis.set(answerKey(id), JSON.stringify(answer), "EX", ttl);
    },
    async shadowAnswer(id) {
      const v = await redis.get(answerKey(id));
      return v === null ? null : (JSON.parse(v) as ShadowAnswer);
    },
    async window(route) {
      return (await redis.lrange(windowKey(route), 0, -1)).map(Number);
    },
    async fallbacks() {
      const all = await redis.hgetall(fallbackKey);
      return new Map(Object.entries(all).map(([k, v]) => [k, JSON.parse(v) as FallbackInfo]));
    },
    async enterFallback(route, info) {
      return (await redis.hsetnx(fallbackKey, routeId(route), JSON.stringify(info))) === 1;
    },
    async leaveFallback(route) {
      return (await redis.hdel(fallbackKey, routeId(route))) === 1;
    },
    async updateFallback(route, info) {
      await redis.eval(UPDATE_IF_PRESENT, 1, fallbackKey, routeId(route), JSON.stringify(info));
    },
    async resetRoute(route) {
      await redis.multi().hdel(fallbackKey, routeId(route)).del(windowKey(route)).exec();
    },
    async rememberServed(served, ttl) {
      if (served.length === 0) return;
      const m = redis.multi();
      for (const s of served) m.set(servedKey(s.requestId), JSON.stringify(s.route), "EX", ttl);
      await m.exec();
    },
    async countOutcome(id, success, size) {
      // Taken atomically: of concurrent or repeated outcomes for one request, one counts.
      const taken = await redis.multi().get(servedKey(id)).del(servedKey(id)).exec();
      const v = taken?.[0]?.[1] as string | null | undefined;
      if (!v) return null;
      const route = JSON.parse(v) as RouteKey;
      const res = await redis.multi().lpush(windowKey(route), String(success)).ltrim(windowKey(route), 0, size(route) - 1).lrange(windowKey(route), 0, -1).exec();
      return { route, window: ((res?.[2]?.[1] as string[] | undefined) ?? []).map(Number) };
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** The same contract in process memory: single-instance runs and tests. Expired entries vanish like Redis keys. */
export function memoryRouteStore(now: () => number = Date.now): RouteStore {
  const pending = new Map<string, { entry: ShadowEntry; expires: number }>();
  const answers = new Map<string, { answer: ShadowAnswer; expires: number }>();
  const windows = new Map<string, number[]>();
  const fallback = new Map<string, FallbackInfo>();
  const served = new Map<string, { route: RouteKey; expires: number }>();
  const live = (id: string) => {
    const p = pending.get(id);
    if (p && p.expires <= now()) pending.delete(id);
    return pending.get(id) ?? null;
  };
  return {
    async rememberShadow(entry, ttl) {
      pending.set(entry.request_id, { entry: structuredClone(entry), expires: now() + ttl * 1000 });
    },
    async pendingShadows(ids) {
      return ids.map((id) => live(id)?.entry ?? null);
    },
    async completeShadow(id, route, agreed, size) {
      const removed = live(id) !== null;
      pending.delete(id);
      answers.delete(id);
      const w = windows.get(routeId(route)) ?? [];
      if (removed && agreed !== null) {
        w.unshift(agreed);
        w.length = Math.min(w.length, size);
        windows.set(routeId(route), w);
      }
      return { window: [...w], counted: removed && agreed !== null };
    },
    async rememberShadowAnswer(id, answer, ttl) {
      answers.set(id, { answer: structuredClone(answer), expires: now() + ttl * 1000 });
    },
    async shadowAnswer(id) {
      const a = answers.get(id);
      if (a && a.expires <= now()) answers.delete(id);
      return answers.get(id)?.answer ?? null;
    },
    async window(route) {
      return [...(windows.get(routeId(route)) ?? [])];
    },
    async fallbacks() {
      return new Map(fallback);
    },
    async enterFallback(route, info) {
      if (fallback.has(routeId(route))) return false;
      fallback.set(routeId(route), info);
      return true;
    },
    async leaveFallback(route) {
      return fallback.delete(routeId(route));
    },
    async updateFallback(route, info) {
      if (fallback.has(routeId(route))) fallback.set(routeId(route), info);
    },
    async resetRoute(route) {
      fallback.delete(routeId(route));
      windows.delete(routeId(route));
    },
    async rememberServed(list, ttl) {
      for (const s of list) served.set(s.requestId, { route: { ...s.route }, expires: now() + ttl * 1000 });
    },
    async countOutcome(id, success, size) {
      const s = served.get(id);
      served.delete(id);
      if (!s || s.expires <= now()) return null;
      const w = windows.get(routeId(s.route)) ?? [];
      w.unshift(success);
      w.length = Math.min(w.length, size(s.route));
      windows.set(routeId(s.route), w);
      return { route: s.route, window: [...w] };
    },
    async close() {},
  };
}

/**
 * The routing path's view of the fallback states: read from the store every `refreshMs`, so
 * deciding a route never waits on Redis. If the store is unreachable the last known states stay.
 */
export class FallbackView extends PeriodicRefresh {
  private states = new Map<string, FallbackInfo>();

  constructor(
    private readonly store: Pick<RouteStore, "fallbacks">,
    private readonly opts: { refreshMs: number; onError?: (err: unknown) => void; onRefresh?: (states: ReadonlyMap<string, FallbackInfo>) => void },
  ) {
    super(opts.refreshMs);
  }

  get(useCase: string, tier: string): FallbackInfo | null {
    return this.states.get(routeId({ useCase, tier })) ?? null;
  }

  async refresh(): Promise<void> {
    try {
      this.states = await this.store.fallbacks();
      this.opts.onRefresh?.(this.states);
    } catch (err) {
      this.opts.onError?.(err);
    }
  }
}
