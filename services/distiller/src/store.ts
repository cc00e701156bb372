import { Redis } from "ioredis";
import type { LlmResponse } from "@costwise/schemas";
import type { PendingPrompt } from "./capture.ts";

/**
 * The join of a request's prompt (llm.requests.ready / .batch) with its answer (llm.responses),
 * which may arrive in either order. Each side stores itself and reads the other in one atomic
 * step, so exactly one of the two sees both (a Kafka redelivery may see them again: everything
 * downstream is idempotent by request_id). Entries expire after a TTL and are never deleted on
 * join, so a crash between the join and producing the sample loses nothing.
 */
export interface JoinStore {
  /** Remember a prompt; returns its answer when that arrived first. */
  offerPrompt(p: PendingPrompt, ttlSeconds: number): Promise<LlmResponse | null>;
  /** Remember an answer; returns its prompt when that arrived first. */
  offerAnswer(res: LlmResponse, ttlSeconds: number): Promise<PendingPrompt | null>;
  /** Take the right to run a request's shadow call once (false: already taken). */
  claimShadow(requestId: string, ttlSeconds: number): Promise<boolean>;
  /** Give the right back (the shadow call failed transiently and will be retried). */
  releaseShadow(requestId: string): Promise<void>;
  close(): Promise<void>;
}

const SET_AND_GET = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return redis.call('GET', KEYS[2])
`;

export function redisJoinStore(url: string, opts: { prefix: string; timeoutMs: number; onError?: (err: Error) => void }): JoinStore {
  const redis = new Redis(url, { commandTimeout: opts.timeoutMs, maxRetriesPerRequest: 2 });
  redis.on("error", (err: Error) => opts.onError?.(err));
  const promptKey = (id: string) => `${opts.prefix}:prompt:${id}`;
  const answerKey = (id: string) => `${opts.prefix}:answer:${id}`;
  const claimKey = (id: string) => `${opts.prefix}:shadow-claim:${id}`;
  const setAndGet = async (mine: string, other: string, value: string, ttl: number) => (await redis.eval(SET_AND_GET, 2, mine, other, value, String(ttl))) as string | null;
  return {
    async offerPrompt(p, ttl) {
      const other = await setAndGet(promptKey(p.request_id), answerKey(p.request_id), JSON.stringify(p), ttl);
      return other === null ? null : (JSON.parse(other) as LlmResponse);
    },
    async offerAnswer(res, ttl) {
      const other = await setAndGet(answerKey(res.request_id), promptKey(res.request_id), JSON.stringify(res), ttl);
      return other === null ? null : (JSON.parse(other) as PendingPrompt);
    },
    async claimShadow(id, ttl) {
      return (await redis.set(claimKey(id), "1", "EX", ttl, "NX")) === "OK";
    },
    async releaseShadow(id) {
      await redis.del(claimKey(id));
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** The same contract in process memory (tests, single-instance runs); entries expire like Redis keys. */
export function memoryJoinStore(now: () => number = Date.now): JoinStore {
  const entries = new Map<string, { value: string; expires: number }>();
  const get = (k: string) => {
    const e = entries.get(k);
    if (e && e.expires <= now()) entries.delete(k);
    return entries.get(k)?.value ?? null;
  };
  const set = (k: string, v: string, ttl: number) => entries.set(k, { value: v, expires: now() + ttl * 1000 });
  return {
    async offerPrompt(p, ttl) {
      set(`prompt:${p.request_id}`, JSON.stringify(p), ttl);
      const other = get(`answer:${p.request_id}`);
      return other === null ? null : (JSON.parse(other) as LlmResponse);
    },
    async offerAnswer(res, ttl) {
      set(`answer:${res.request_id}`, JSON.stringify(res), ttl);
      const other = get(`prompt:${res.request_id}`);
      return other === null ? null : (JSON.parse(other) as PendingPrompt);
    },
    async claimShadow(id, ttl) {
      if (get(`claim:${id}`) !== null) return false;
      set(`claim:${id}`, "1", ttl);
      return true;
    },
    async releaseShadow(id) {
      entries.delete(`claim:${id}`);
    },
    async close() {},
  };
}
