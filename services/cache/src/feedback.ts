import type { Redis } from "ioredis";
import { outcomeProblem, succeeded } from "@costwise/outcomes";
import type { LlmOutcome, LlmRequest } from "@costwise/schemas";
import { formatOutcome } from "./decision.ts";
import type { LookupResult } from "./engine.ts";
import { policyFor, type CachePolicies } from "./policy.ts";
import { namePart, type CacheStore } from "./store.ts";

/** Which entry answered a request served from the cache: what its outcome will count against. */
export interface ServedHit {
  readonly ref: string;
  readonly tenant: string;
  readonly use_case: string;
  readonly key: string;
  /** Similarity of the query to the entry's (null: an exact hit). */
  readonly similarity: number | null;
  readonly expires_at: number;
}

/**
 * The hits served, remembered for their outcomes, and the distinct requests whose failed outcome
 * counted against each entry. Redis in production (every replica sees every hit), memory in tests.
 */
export interface HitLedger {
  remember(requestId: string, hit: ServedHit, ttlMs: number): Promise<void>;
  hitOf(requestId: string): Promise<ServedHit | null>;
  /** Count the request's failure against the entry: the entry's count of failed requests, or null when this request was already counted. */
  countFailure(hit: ServedHit, requestId: string): Promise<number | null>;
}

const COUNT_FAILURE = `
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
if added == 0 then return -1 end
return redis.call('SCARD', KEYS[1])
`;

/** Keys: P:hit:REQUEST_ID (the served hit, with a TTL), P:fail:t:u:KEY (set of failed request ids, until the entry expires). */
export function redisHitLedger(redis: Redis, prefix: string): HitLedger {
  const hitKey = (id: string) => `${prefix}:hit:${id}`;
  const failKey = (h: ServedHit) => `${prefix}:fail:${namePart(h.tenant)}:${namePart(h.use_case)}:${h.key}`;
  return {
    async remember(id, hit, ttlMs) {
      await redis.set(hitKey(id), JSON.stringify(hit), "PX", Math.max(1, ttlMs));
    },
    async hitOf(id) {
      const v = await redis.get(hitKey(id));
      return v === null ? null : (JSON.parse(v) as ServedHit);
    },
    async countFailure(hit, id) {
      const n = Number(await redis.eval(COUNT_FAILURE, 1, failKey(hit), id, String(Math.max(hit.expires_at, Date.now() + 1))));
      return n < 0 ? null : n;
    },
  };
}

export function memoryHitLedger(now: () => number = Date.now): HitLedger {
  const hits = new Map<string, { hit: ServedHit; until: number }>();
  const fails = new Map<string, Set<string>>();
  return {
    async remember(id, hit, ttlMs) {
      hits.set(id, { hit, until: now() + ttlMs });
    },
    async hitOf(id) {
      const h = hits.get(id);
      return h && h.until > now() ? h.hit : null;
    },
    async countFailure(hit, id) {
      const set = fails.get(hit.ref) ?? new Set<string>();
      fails.set(hit.ref, set);
      if (set.has(id)) return null;
      set.add(id);
      return set.size;
    },
  };
}

export type FeedbackResult = "invalid" | "not_a_hit" | "ok" | "repeat" | "counted" | "invalidated";

export interface CacheFeedback {
  /** Remember a hit just served, so that its outcome finds the entry. */
  served(req: LlmRequest, r: LookupResult): Promise<void>;
  /** What an outcome does to the entry that answered (if the cache answered). */
  outcome(o: LlmOutcome): Promise<FeedbackResult>;
}

/**
 * Outcomes close the cache's loop: a failed outcome on a hit counts against the entry that
 * answered (once per request, whatever the number of outcomes for it), and an entry with
 * `max_failed_outcomes` failed requests is invalidated, so it answers no one else. On a semantic
 * hit the failure is also evidence next to the entry (its similarity, not ok), so the entry's own
 * boundary tightens before the limit is reached. Successes change nothing: an entry earns no
 * credit that would outweigh the judge's evidence.
 */
export function createCacheFeedback(deps: { ledger: HitLedger; store: Pick<CacheStore, "ref" | "addOutcome" | "invalidate">; policies: CachePolicies; now: () => number }): CacheFeedback {
  return {
    async served(req, r) {
      if (!r.entry) return;
      const policy = policyFor(deps.policies, req.use_case);
      const hit: ServedHit = {
        ref: deps.store.ref(r.entry.tenant, r.entry.use_case, r.entry.key), tenant: r.entry.tenant, use_case: r.entry.use_case, key: r.entry.key,
        similarity: r.status === "HIT_SEMANTIC" ? r.similarity : null, expires_at: r.entry.expires_at,
      };
      await deps.ledger.remember(req.request_id, hit, policy.outcome_memory_seconds * 1000);
    },
    async outcome(o) {
      if (outcomeProblem(o)) return "invalid";
      const hit = await deps.ledger.hitOf(o.request_id);
      if (!hit) return "not_a_hit";
      if (succeeded(o)) return "ok";
      const failures = await deps.ledger.countFailure(hit, o.request_id);
      if (failures === null) return "repeat";
      const policy = policyFor(deps.policies, hit.use_case);
      if (hit.similarity !== null) await deps.store.addOutcome(hit.ref, formatOutcome({ similarity: hit.similarity, ok: false }), hit.expires_at);
      if (failures < policy.max_failed_outcomes) return "counted";
      await deps.store.invalidate({ tenant: hit.tenant, useCase: hit.use_case, key: hit.key }, deps.now());
      return "invalidated";
    },
  };
}
