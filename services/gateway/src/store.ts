import type { Redis } from "ioredis";
import type { LlmResponse } from "@costwise/schemas";
import { GatewayError } from "./errors.ts";

/** A call remembered under its Idempotency-Key: which request it became and with what body. */
export interface IdempotencyRecord {
  readonly requestId: string;
  /** sha256 of the API, the body and the costwise headers: a reused key with another body is refused. */
  readonly fingerprint: string;
  /** "producing" until Kafka acknowledged the request; a stale "producing" record may be taken over. */
  readonly state: "producing" | "produced";
  readonly at: number;
}

/** A deferred (batch) call, for its retrieval URL. */
export interface DeferredRecord {
  readonly requestId: string;
  readonly tenant: string;
  readonly api: "openai" | "anthropic";
  readonly model: string;
  readonly maxTokens: number | null;
  readonly at: number;
}

/** The gateway's state in Redis. Every command has the client's command timeout as its deadline. */
export interface GatewayStore {
  /** Claim `key` for a new call, or get the call that claimed it first. */
  claim(tenant: string, keyHash: string, record: IdempotencyRecord, staleMs: number): Promise<{ claimed: true } | { claimed: false; existing: IdempotencyRecord }>;
  markProduced(tenant: string, keyHash: string, record: IdempotencyRecord): Promise<void>;
  release(tenant: string, keyHash: string): Promise<void>;
  putResult(resp: LlmResponse): Promise<void>;
  getResult(requestId: string): Promise<LlmResponse | null>;
  putDeferred(rec: DeferredRecord): Promise<void>;
  getDeferred(requestId: string): Promise<DeferredRecord | null>;
}

export interface RedisStoreOptions {
  readonly prefix: string;
  readonly resultTtlS: number;
  readonly idempotencyTtlS: number;
}

/** Redis unreachable or slow: the call cannot be made safely now, and may be retried. */
function unavailable(err: unknown): GatewayError {
  return new GatewayError("unavailable", `the gateway's store is unavailable (${(err as Error).message}); retry the call`);
}

export function redisStore(redis: Redis, opts: RedisStoreOptions): GatewayStore {
  const idem = (tenant: string, keyHash: string) => `${opts.prefix}idem:${tenant}:${keyHash}`;
  const result = (id: string) => `${opts.prefix}res:${id}`;
  const deferred = (id: string) => `${opts.prefix}req:${id}`;
  const guard = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      throw unavailable(err);
    }
  };
  return {
    claim: (tenant, keyHash, record, staleMs) =>
      guard(async () => {
        const k = idem(tenant, keyHash);
        const set = await redis.set(k, JSON.stringify(record), "EX", opts.idempotencyTtlS, "NX");
        if (set === "OK") return { claimed: true as const };
        const raw = await redis.get(k);
        if (raw === null) {
          // Expired between the two commands: claim again.
          const again = await redis.set(k, JSON.stringify(record), "EX", opts.idempotencyTtlS, "NX");
          if (again === "OK") return { claimed: true as const };
          return { claimed: false as const, existing: JSON.parse((await redis.get(k)) ?? "null") as IdempotencyRecord };
        }
        const existing = JSON.parse(raw) as IdempotencyRecord;
        // A claim whose produce never finished (the replica died mid-call) would block the key forever.
        if (existing.state === "producing" && record.at - existing.at > staleMs && existing.fingerprint === record.fingerprint) {
          await redis.set(k, JSON.stringify(record), "EX", opts.idempotencyTtlS);
          return { claimed: true as const };
        }
        return { claimed: false as const, existing };
      }),
    markProduced: (tenant, keyHash, record) => guard(async () => void (await redis.set(idem(tenant, keyHash), JSON.stringify({ ...record, state: "produced" }), "EX", opts.idempotencyTtlS))),
    release: (tenant, keyHash) => guard(async () => void (await redis.del(idem(tenant, keyHash)))),
    putResult: (resp) => guard(async () => void (await redis.set(result(resp.request_id), JSON.stringify(resp), "EX", opts.resultTtlS))),
    getResult: (id) => guard(async () => {
      const raw = await redis.get(result(id));
      return raw === null ? null : (JSON.parse(raw) as LlmResponse);
    }),
    putDeferred: (rec) => guard(async () => void (await redis.set(deferred(rec.requestId), JSON.stringify(rec), "EX", opts.resultTtlS))),
    getDeferred: (id) => guard(async () => {
      const raw = await redis.get(deferred(id));
      return raw === null ? null : (JSON.parse(raw) as DeferredRecord);
    }),
  };
}

/** The same contract in memory, for unit tests of the HTTP layer. */
export function memoryStore(): GatewayStore & { results: Map<string, LlmResponse> } {
  const idem = new Map<string, IdempotencyRecord>();
  const results = new Map<string, LlmResponse>();
  const deferred = new Map<string, DeferredRecord>();
  return {
    results,
    async claim(tenant, keyHash, record, staleMs) {
      const k = `${tenant}:${keyHash}`;
      const existing = idem.get(k);
      if (!existing || (existing.state === "producing" && record.at - existing.at > staleMs && existing.fingerprint === record.fingerprint)) {
        idem.set(k, record);
        return { claimed: true };
      }
      return { claimed: false, existing };
    },
    async markProduced(tenant, keyHash, record) {
      idem.set(`${tenant}:${keyHash}`, { ...record, state: "produced" });
    },
    async release(tenant, keyHash) {
      idem.delete(`${tenant}:${keyHash}`);
    },
    async putResult(resp) {
      results.set(resp.request_id, resp);
    },
    getResult: async (id) => results.get(id) ?? null,
    async putDeferred(rec) {
      deferred.set(rec.requestId, rec);
    },
    getDeferred: async (id) => deferred.get(id) ?? null,
  };
}
