import type { Provider } from "@costwise/pricing";
import type { Redis, Result } from "ioredis";
import type { FlushReason } from "./accumulator.ts";

export type BatchStatus = "claiming" | "claimed" | "submitting" | "submitted" | "ended" | "done";
export type CancelDisposition = "realtime" | "error";

/**
 * A batch as stored in Redis. The status only moves forward:
 *   claiming   — record created, requests being claimed and stored (a crash here leaves a valid, smaller batch);
 *   claimed    — every request of the batch is stored; nothing sent yet;
 *   submitting — the provider call may have happened (the input file may be uploaded): recovery looks for it first;
 *   submitted  — the provider batch id is stored: from here only polling;
 *   ended      — the provider finished it; results are being turned into responses;
 *   done       — every request got its outcome.
 */
export interface BatchRecord {
  readonly id: string;
  readonly provider: Provider;
  readonly model: string;
  readonly status: BatchStatus;
  readonly owner: string;
  readonly leaseUntil: number;
  readonly reason: FlushReason;
  readonly openedAt: number;
  readonly createdAt: number;
  readonly count: number;
  readonly bytes: number;
  readonly earliestDeadline: number | null;
  readonly fileId: string | null;
  readonly providerBatchId: string | null;
  readonly submittingAt: number | null;
  readonly submittedAt: number | null;
  readonly providerStatus: string | null;
  /** completed | expired | cancelled | failed, once ended. */
  readonly outcome: string | null;
  readonly endedAt: number | null;
  readonly cancelRequestedAt: number | null;
  readonly cancelDisposition: CancelDisposition | null;
  readonly cancelSentAt: number | null;
  readonly error: string | null;
  readonly doneAt: number | null;
  /** JSON: outcomes of the requests once done ({ ok, batch, realtime, error }). */
  readonly results: string | null;
}

const NUMBERS = new Set<keyof BatchRecord>([
  "leaseUntil", "openedAt", "createdAt", "count", "bytes", "earliestDeadline", "submittingAt", "submittedAt", "endedAt", "cancelRequestedAt", "cancelSentAt", "doneAt",
]);
const FIELDS: readonly (keyof BatchRecord)[] = [
  "id", "provider", "model", "status", "owner", "leaseUntil", "reason", "openedAt", "createdAt", "count", "bytes", "earliestDeadline", "fileId",
  "providerBatchId", "submittingAt", "submittedAt", "providerStatus", "outcome", "endedAt", "cancelRequestedAt", "cancelDisposition", "cancelSentAt",
  "error", "doneAt", "results",
];

function toHash(fields: Partial<BatchRecord>): { set: Record<string, string>; unset: string[] } {
  const set: Record<string, string> = {};
  const unset: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === null || v === undefined) unset.push(k);
    else set[k] = String(v);
  }
  return { set, unset };
}

function fromHash(h: Record<string, string>): BatchRecord | null {
  if (!h["id"]) return null;
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) {
    const v = h[f];
    out[f] = v === undefined ? null : NUMBERS.has(f) ? Number(v) : v;
  }
  return out as unknown as BatchRecord;
}

// Claim a request for a batch: free, already ours, or released for exactly this retry attempt.
// Claim and stored request are written together, so a claimed request is always recoverable.
const CLAIM = `
local res = {}
for i = 4, #ARGV, 4 do
  local key = ARGV[3] .. ARGV[i]
  local cur = redis.call('GET', key)
  if cur == false or cur == ARGV[1] or cur == ('retry:' .. ARGV[i + 1]) then
    redis.call('SET', key, ARGV[1], 'EX', ARGV[2])
    redis.call('HSET', KEYS[1], ARGV[i + 2], ARGV[i + 3])
    res[#res + 1] = 1
  else
    res[#res + 1] = 0
  end
end
return res`;

// Move claims on, but only those this batch still holds (a redo after a crash must not undo a newer claim).
const MARK = `
for i = 3, #ARGV, 2 do
  local key = ARGV[2] .. ARGV[i]
  if redis.call('GET', key) == ARGV[1] then redis.call('SET', key, ARGV[i + 1], 'KEEPTTL') end
end
return 1`;

const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('SADD', KEYS[2], ARGV[1])
return 1`;

// Take a batch over: it is ours already (a restart under the same instance id) or its owner's lease ran out.
const TAKEOVER = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'status') == 'done' then return 0 end
local owner = redis.call('HGET', KEYS[1], 'owner')
local lease = tonumber(redis.call('HGET', KEYS[1], 'leaseUntil') or '0')
if owner == ARGV[1] or lease < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'leaseUntil', ARGV[3])
  return 1
end
return 0`;

// Extend our leases; a batch someone else took over is reported so we stop working on it.
const RENEW = `
local res = {}
for i = 1, #KEYS do
  if redis.call('HGET', KEYS[i], 'owner') == ARGV[1] then
    redis.call('HSET', KEYS[i], 'leaseUntil', ARGV[2])
    res[#res + 1] = 1
  else
    res[#res + 1] = 0
  end
end
return res`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    cwbClaim(reqsKey: string, ...args: string[]): Result<number[], Context>;
    cwbMark(...args: string[]): Result<number, Context>;
    cwbCreate(key: string, activeKey: string, ...args: string[]): Result<number, Context>;
    cwbTakeover(key: string, owner: string, now: string, leaseUntil: string): Result<number, Context>;
    cwbRenew(numKeys: number, ...keysThenArgs: string[]): Result<number[], Context>;
  }
}

export interface StoreOptions {
  /** Namespace of every key, e.g. "costwise:batch:". */
  readonly prefix: string;
  /** How long a request stays claimed after its batch (dedupes late duplicates from upstream). */
  readonly claimTtlSeconds: number;
  /** How long finished batch records are kept for inspection. */
  readonly retentionSeconds: number;
}

export interface ClaimEntry {
  readonly requestId: string;
  readonly customId: string;
  readonly attempt: number;
  readonly stored: string;
}

/**
 * The durable state of the batch path, in Redis (ioredis). Keys under the prefix:
 *   b:<batch>   hash  the BatchRecord
 *   r:<batch>   hash  custom_id → stored request, for requests of the batch without an outcome yet
 *   c:<request> string the request's claim: a batch id, "retry:<attempt>" or "rt" (sent real time)
 *   p:<provider batch id> string → batch id
 *   active      set   batches not done;  done  zset  finished batches by time
 * Scripts touch claim keys they compute, so this targets a single Redis (or a cluster with hash tags).
 */
export class BatchStore {
  /** Bytes of keys and values written, for the benchmark's "state written per request". */
  bytesWritten = 0;

  constructor(
    private readonly redis: Redis,
    private readonly opts: StoreOptions,
  ) {
    redis.defineCommand("cwbClaim", { numberOfKeys: 1, lua: CLAIM });
    redis.defineCommand("cwbMark", { numberOfKeys: 0, lua: MARK });
    redis.defineCommand("cwbCreate", { numberOfKeys: 2, lua: CREATE });
    redis.defineCommand("cwbTakeover", { numberOfKeys: 1, lua: TAKEOVER });
    redis.defineCommand("cwbRenew", { lua: RENEW });
  }

  private k(kind: "b" | "r" | "c" | "p", id: string): string {
    return `${this.opts.prefix}${kind}:${id}`;
  }

  private get activeKey(): string {
    return `${this.opts.prefix}active`;
  }

  private get doneKey(): string {
    return `${this.opts.prefix}done`;
  }

  /** Create the record unless a batch with this (deterministic) id exists; false means it does. */
  async create(rec: BatchRecord): Promise<boolean> {
    const { set } = toHash(rec);
    const args = Object.entries(set).flat();
    this.bytesWritten += args.reduce((n, s) => n + Buffer.byteLength(s), 0);
    return (await this.redis.cwbCreate(this.k("b", rec.id), this.activeKey, rec.id, ...args)) === 1;
  }

  /**
   * Claim and store requests for the batch, in chunks sent back to back (pipelined: one round
   * trip's wait for the whole batch, each chunk atomic); returns the custom_ids it now holds.
   */
  async claim(batchId: string, entries: readonly ClaimEntry[], chunk = 1_000): Promise<Set<string>> {
    const prefix = `${this.opts.prefix}c:`;
    const calls: Promise<number[]>[] = [];
    for (let i = 0; i < entries.length; i += chunk) {
      const args: string[] = [batchId, String(this.opts.claimTtlSeconds), prefix];
      for (let j = i; j < Math.min(i + chunk, entries.length); j++) {
        const e = entries[j]!;
        args.push(e.requestId, String(e.attempt), e.customId, e.stored);
        this.bytesWritten += prefix.length + 2 * e.requestId.length + batchId.length + e.customId.length + Buffer.byteLength(e.stored);
      }
      calls.push(this.redis.cwbClaim(this.k("r", batchId), ...args));
    }
    const flags = (await Promise.all(calls)).flat();
    const claimed = new Set<string>();
    entries.forEach((e, i) => {
      if (flags[i] === 1) claimed.add(e.customId);
    });
    return claimed;
  }

  async update(id: string, fields: Partial<BatchRecord>): Promise<void> {
    const { set, unset } = toHash(fields);
    const m = this.redis.multi();
    if (Object.keys(set).length > 0) m.hset(this.k("b", id), set);
    if (unset.length > 0) m.hdel(this.k("b", id), ...unset);
    await m.exec();
  }

  async get(id: string): Promise<BatchRecord | null> {
    return fromHash(await this.redis.hgetall(this.k("b", id)));
  }

  /** Our id, or the provider's batch id. */
  async resolveId(idOrProviderId: string): Promise<string | null> {
    if ((await this.redis.exists(this.k("b", idOrProviderId))) === 1) return idOrProviderId;
    return this.redis.get(this.k("p", idOrProviderId));
  }

  async active(): Promise<BatchRecord[]> {
    const ids = await this.redis.smembers(this.activeKey);
    return this.many(ids);
  }

  /** Finished batches, newest first. */
  async recentlyDone(limit: number): Promise<BatchRecord[]> {
    return this.many(await this.redis.zrevrange(this.doneKey, 0, limit - 1));
  }

  private async many(ids: readonly string[]): Promise<BatchRecord[]> {
    if (ids.length === 0) return [];
    const p = this.redis.pipeline();
    for (const id of ids) p.hgetall(this.k("b", id));
    const res = (await p.exec()) ?? [];
    return res.map(([, h]) => fromHash(h as Record<string, string>)).filter((r): r is BatchRecord => r !== null);
  }

  async takeover(id: string, owner: string, now: number, leaseMs: number): Promise<boolean> {
    return (await this.redis.cwbTakeover(this.k("b", id), owner, String(now), String(now + leaseMs))) === 1;
  }

  /** Extend the leases we hold; returns the ids someone else owns now. */
  async renew(ids: readonly string[], owner: string, until: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const flags = await this.redis.cwbRenew(ids.length, ...ids.map((id) => this.k("b", id)), owner, String(until));
    return ids.filter((_, i) => flags[i] !== 1);
  }

  async submitted(id: string, providerBatchId: string, at: number): Promise<void> {
    await this.redis
      .multi()
      .hset(this.k("b", id), { providerBatchId, status: "submitted", submittedAt: String(at) })
      .set(this.k("p", providerBatchId), id, "EX", this.opts.retentionSeconds)
      .exec();
  }

  async isKnownProviderBatch(providerBatchId: string): Promise<boolean> {
    return (await this.redis.exists(this.k("p", providerBatchId))) === 1;
  }

  /** Stored requests by custom_id; null for requests that already have their outcome. */
  async payloads(id: string, customIds: readonly string[]): Promise<(string | null)[]> {
    if (customIds.length === 0) return [];
    return this.redis.hmget(this.k("r", id), ...customIds);
  }

  async remainingCount(id: string): Promise<number> {
    return this.redis.hlen(this.k("r", id));
  }

  /** custom_ids of requests still without an outcome, a page at a time. */
  async *remaining(id: string, count = 500): AsyncGenerator<string[]> {
    let cursor = "0";
    do {
      const [next, flat] = await this.redis.hscan(this.k("r", id), cursor, "COUNT", count);
      cursor = next;
      const ids: string[] = [];
      for (let i = 0; i < flat.length; i += 2) ids.push(flat[i]!);
      if (ids.length > 0) yield ids;
    } while (cursor !== "0");
  }

  async markClaims(batchId: string, marks: readonly { requestId: string; value: string }[]): Promise<void> {
    if (marks.length === 0) return;
    const args = [batchId, `${this.opts.prefix}c:`];
    for (const m of marks) args.push(m.requestId, m.value);
    await this.redis.cwbMark(...args);
  }

  async claimOf(requestId: string): Promise<string | null> {
    return this.redis.get(this.k("c", requestId));
  }

  /** These requests have their outcome (produced and acknowledged). */
  async finish(id: string, customIds: readonly string[]): Promise<void> {
    if (customIds.length > 0) await this.redis.hdel(this.k("r", id), ...customIds);
  }

  async complete(id: string, at: number, results: Record<string, number>): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.doneKey, at, id)
      .hset(this.k("b", id), { status: "done", doneAt: String(at), results: JSON.stringify(results) })
      .srem(this.activeKey, id)
      .del(this.k("r", id))
      .expire(this.k("b", id), this.opts.retentionSeconds)
      .zremrangebyscore(this.doneKey, 0, at - this.opts.retentionSeconds * 1000)
      .exec();
  }

  /** A batch that ended up with no request of its own (all were claimed elsewhere). */
  async discard(id: string): Promise<void> {
    await this.redis.multi().del(this.k("b", id), this.k("r", id)).srem(this.activeKey, id).exec();
  }

  /** Ask whoever owns the batch to cancel it; false when it does not exist or is already done. */
  async requestCancel(id: string, disposition: CancelDisposition, at: number): Promise<boolean> {
    const rec = await this.get(id);
    if (!rec || rec.status === "done") return false;
    await this.update(id, { cancelRequestedAt: at, cancelDisposition: disposition });
    return true;
  }
}
