import { Redis, type RedisOptions } from "ioredis";
import { CALIBRATION_IDLE_MS, CALIBRATION_MAX_TRAFFIC, calibrationFields, parseCalibrationHash } from "./calibration.ts";
import type { CalibrationState } from "./decision.ts";
import { namePart, OUTCOMES_KEEP_CHARS, OUTCOMES_MAX_CHARS, type CacheEntry, type CacheEvent, type CacheStore, type CalibrationRef, type CalibrationSeed, type InvalidateSelector, type PendingLookup, type StoredCalibration, type StoredCandidate } from "./store.ts";

// Store unless invalidated since the request was asked or already stored; publish vectors; drop the pending record.
// KEYS: entry, feed, pending, tenant marker, use-case marker. ARGV: entry json, ttl ms, feed maxlen, asked-at ms, has-event, event fields...
const LEARN = `
local asked = tonumber(ARGV[4])
if tonumber(redis.call('GET', KEYS[4]) or '0') >= asked or tonumber(redis.call('GET', KEYS[5]) or '0') >= asked then
  redis.call('DEL', KEYS[3])
  return 2
end
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  redis.call('DEL', KEYS[3])
  return 0
end
if ARGV[5] == '1' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 6))
end
redis.call('DEL', KEYS[3])
return 1
`;

// Append a reuse outcome next to an entry; past a size, keep only the newest items (cut at an item boundary).
// KEYS: outcomes. ARGV: item, expire-at ms, max chars, keep chars.
const ADD_OUTCOME = `
local n = redis.call('APPEND', KEYS[1], ARGV[1])
if n > tonumber(ARGV[3]) then
  local tail = redis.call('GETRANGE', KEYS[1], n - tonumber(ARGV[4]), -1)
  local cut = string.find(tail, ';', 1, true)
  redis.call('SET', KEYS[1], string.sub(tail, (cut or 0) + 1))
end
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return n
`;

// Add bin counts to a calibration hash; past a total of traffic halve every count (rounding up).
// KEYS: calibration. ARGV: max traffic, idle expiry ms, seed field or '', seed note, then field, delta pairs.
const ADD_CALIBRATION = `
local added = 0
for i = 5, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  if string.sub(ARGV[i], 1, 1) == 't' then added = added + tonumber(ARGV[i + 1]) end
end
local total = redis.call('HINCRBY', KEYS[1], 'n', added)
if total > tonumber(ARGV[1]) then
  local all = redis.call('HGETALL', KEYS[1])
  local sum = 0
  for i = 1, #all, 2 do
    if string.match(all[i], '^[tlw]%d+$') then
      local v = math.ceil(tonumber(all[i + 1]) / 2)
      redis.call('HSET', KEYS[1], all[i], v)
      if string.sub(all[i], 1, 1) == 't' then sum = sum + v end
    end
  end
  redis.call('HSET', KEYS[1], 'n', sum)
  total = sum
end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], ARGV[3], ARGV[4]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return total
`;

type AddCalibrationCommand = (key: string, maxTraffic: number, idleMs: number, seedField: string, seedNote: string, ...pairs: (string | number)[]) => Promise<number>;

type AddOutcomeCommand = (key: string, item: string, expireAt: number, max: number, keep: number) => Promise<number>;

type LearnCommand = (entry: string, feed: string, pending: string, tMarker: string, tuMarker: string, ...args: (string | number)[]) => Promise<number>;

export interface RedisStoreOptions {
  /** Key prefix; separate prefixes are separate caches on one Redis (tests, evaluation runs). */
  readonly prefix: string;
  /** Approximate length the change feed is trimmed to (XADD MAXLEN ~). */
  readonly feedMaxLen?: number;
  /** How long invalidation markers refuse late answers; must outlive pending records. */
  readonly invalidationMarkerMs?: number;
}

/** Connection options for the request path: a down or slow Redis fails a command in `timeoutMs`, never queues it. */
export function hotRedisOptions(timeoutMs: number): RedisOptions {
  return {
    commandTimeout: timeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    lazyConnect: true,
    // Commands issued in one turn of the event loop (the requests and responses of a batch being
    // processed side by side) go out in one write and come back in one read.
    enableAutoPipelining: true,
    // Keep trying to come back, at most every 2 s; requests pass as misses meanwhile.
    retryStrategy: (attempt) => Math.min(200 * attempt, 2_000),
  };
}

/** Connection options for rebuilds, the change feed and invalidation: not on the request path, so patient. */
export function adminRedisOptions(timeoutMs = 10_000): RedisOptions {
  return { ...hotRedisOptions(timeoutMs), maxRetriesPerRequest: 1, enableAutoPipelining: false };
}

function parseJson<T extends { v: number }>(raw: string | null): T | null {
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as T;
    return v && v.v === 1 ? v : null;
  } catch {
    return null; // an entry written by an incompatible version: treated as absent, expires on its own
  }
}

function fieldsToEvent(fields: string[]): CacheEvent | null {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
  if (f.op === "add" && f.ref && f.scope && f.vec && f.emb) {
    return { op: "add", ref: f.ref, scope: f.scope, tenant: f.t ?? "", use_case: f.u ?? "", vector: f.vec, embedder: f.emb, expires_at: Number(f.exp) };
  }
  if (f.op === "invalidate" && f.t !== undefined) return { op: "invalidate", tenant: f.t, use_case: f.u || null, key: f.k || null };
  return null;
}

/**
 * Redis layout (prefix P, tenant and use case hashed to 16 hex digits t and u):
 *   P:e:t:u:KEY  entry JSON with the use case's TTL      P:p:REQUEST_ID  pending lookup JSON with a TTL
 *   P:feed       stream of add/invalidate events          P:inv:t, P:inv:t:u  last invalidation time (ms)
 *   P:cal:v1:t:u:m:h  calibration hash (m: the embedding model hashed, h: the neighbourhood kind): t<bin>, l<bin>, w<bin> counts, n total traffic, seed:<at> notes
 */
export class RedisCacheStore implements CacheStore {
  private readonly learnCmd: LearnCommand;
  private readonly addOutcomeCmd: AddOutcomeCommand;
  private readonly addCalibrationCmd: AddCalibrationCommand;
  private readonly feedMaxLen: number;
  private readonly markerMs: number;

  constructor(
    /** Request path: lookups, pending records, learning. */
    private readonly hot: Redis,
    /** Rebuild scans and invalidation. */
    private readonly admin: Redis,
    /** The change feed's blocking reads (a blocked connection serves nothing else). */
    private readonly feedConn: Redis,
    private readonly opts: RedisStoreOptions,
  ) {
    hot.defineCommand("cacheLearn", { numberOfKeys: 5, lua: LEARN });
    this.learnCmd = (hot as unknown as { cacheLearn: LearnCommand }).cacheLearn.bind(hot);
    admin.defineCommand("cacheAddOutcome", { numberOfKeys: 1, lua: ADD_OUTCOME });
    this.addOutcomeCmd = (admin as unknown as { cacheAddOutcome: AddOutcomeCommand }).cacheAddOutcome.bind(admin);
    admin.defineCommand("cacheAddCalibration", { numberOfKeys: 1, lua: ADD_CALIBRATION });
    this.addCalibrationCmd = (admin as unknown as { cacheAddCalibration: AddCalibrationCommand }).cacheAddCalibration.bind(admin);
    this.feedMaxLen = opts.feedMaxLen ?? 200_000;
    this.markerMs = opts.invalidationMarkerMs ?? 24 * 3600_000;
  }

  private get feed() {
    return `${this.opts.prefix}:feed`;
  }

  ref(tenant: string, useCase: string, key: string): string {
    return `${this.opts.prefix}:e:${namePart(tenant)}:${namePart(useCase)}:${key}`;
  }

  private pendingKey(requestId: string) {
    return `${this.opts.prefix}:p:${requestId}`;
  }

  private markers(tenant: string, useCase: string): [string, string] {
    return [`${this.opts.prefix}:inv:${namePart(tenant)}`, `${this.opts.prefix}:inv:${namePart(tenant)}:${namePart(useCase)}`];
  }

  async get(ref: string): Promise<CacheEntry | null> {
    return parseJson<CacheEntry>(await this.hot.get(ref));
  }

  async getMany(refs: readonly string[]): Promise<(CacheEntry | null)[]> {
    if (refs.length === 0) return [];
    return (await this.hot.mget(...refs)).map((r) => parseJson<CacheEntry>(r));
  }

  async getCandidates(refs: readonly string[]): Promise<StoredCandidate[]> {
    if (refs.length === 0) return [];
    const raw = await this.hot.mget(...refs, ...refs.map((r) => `${r}:o`));
    return refs.map((_, i) => {
      const entry = parseJson<CacheEntry>(raw[i] ?? null);
      return { entry, outcomes: entry ? raw[refs.length + i] ?? null : null };
    });
  }

  /** Off the request path (verification consumer): the patient connection. */
  async addOutcome(ref: string, item: string, expiresAt: number): Promise<void> {
    await this.addOutcomeCmd(`${ref}:o`, item, Math.max(expiresAt, Date.now() + 1), OUTCOMES_MAX_CHARS, OUTCOMES_KEEP_CHARS);
  }

  async putPending(p: PendingLookup, ttlMs: number): Promise<void> {
    await this.hot.set(this.pendingKey(p.request_id), JSON.stringify(p), "PX", ttlMs);
  }

  async getPending(requestId: string): Promise<PendingLookup | null> {
    return parseJson<PendingLookup>(await this.hot.get(this.pendingKey(requestId)));
  }

  async learn(entry: CacheEntry, requestId: string, askedAt: number): Promise<"stored" | "exists" | "invalidated"> {
    const ttlMs = Math.max(1, entry.expires_at - entry.created_at);
    const ref = this.ref(entry.tenant, entry.use_case, entry.key);
    const event = entry.vector && entry.embedder
      ? ["op", "add", "ref", ref, "scope", entry.scope, "t", entry.tenant, "u", entry.use_case, "vec", entry.vector, "emb", entry.embedder, "exp", String(entry.expires_at)]
      : [];
    const [tMarker, tuMarker] = this.markers(entry.tenant, entry.use_case);
    const r = await this.learnCmd(ref, this.feed, this.pendingKey(requestId), tMarker, tuMarker,
      JSON.stringify(entry), ttlMs, this.feedMaxLen, askedAt, event.length ? "1" : "0", ...event);
    return r === 1 ? "stored" : r === 2 ? "invalidated" : "exists";
  }

  async invalidate(sel: InvalidateSelector, now: number): Promise<number> {
    const t = namePart(sel.tenant);
    const u = sel.useCase === undefined ? "*" : namePart(sel.useCase);
    const pattern = `${this.opts.prefix}:e:${t}:${u}:${sel.key ?? "*"}`;
    if (sel.key === undefined) {
      // Answers to requests asked before now must not come back through learning.
      const marker = sel.useCase === undefined ? `${this.opts.prefix}:inv:${t}` : `${this.opts.prefix}:inv:${t}:${u}`;
      await this.admin.set(marker, String(now), "PX", this.markerMs);
    }
    let removed = 0;
    let cursor = "0";
    do {
      const [next, keys] = await this.admin.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) removed += await this.admin.unlink(...keys);
    } while (cursor !== "0");
    await this.admin.xadd(this.feed, "MAXLEN", "~", this.feedMaxLen, "*", "op", "invalidate", "t", sel.tenant, "u", sel.useCase ?? "", "k", sel.key ?? "");
    return removed;
  }

  calibrationKey(ref: CalibrationRef): string {
    return `${this.opts.prefix}:cal:v1:${namePart(ref.tenant)}:${namePart(ref.useCase)}:${namePart(ref.embedder)}:${ref.neighbourhood}`;
  }

  /** On the request path (a replica's first lookup of a use case waits for it): the bounded connection. */
  async readCalibration(ref: CalibrationRef): Promise<StoredCalibration> {
    return parseCalibrationHash(await this.hot.hgetall(this.calibrationKey(ref)));
  }

  /** Off the request path (verifications, background refresh, warm start): the patient connection. */
  async addCalibration(ref: CalibrationRef, delta: CalibrationState, seed?: CalibrationSeed): Promise<void> {
    const pairs = calibrationFields(delta).flat();
    await this.addCalibrationCmd(this.calibrationKey(ref), CALIBRATION_MAX_TRAFFIC, CALIBRATION_IDLE_MS, seed ? `seed:${seed.at}` : "", seed ? JSON.stringify(seed) : "", ...pairs);
  }

  async scanVectors(onBatch: (entries: CacheEntry[]) => void): Promise<void> {
    let cursor = "0";
    do {
      const [next, found] = await this.admin.scan(cursor, "MATCH", `${this.opts.prefix}:e:*`, "COUNT", 1000);
      cursor = next;
      const keys = found.filter((k) => !k.endsWith(":o")); // reuse outcomes beside the entries
      if (keys.length === 0) continue;
      const entries = (await this.admin.mget(...keys)).map((r) => parseJson<CacheEntry>(r)).filter((e): e is CacheEntry => e !== null && e.vector !== null);
      if (entries.length > 0) onBatch(entries);
    } while (cursor !== "0");
  }

  async feedPosition(): Promise<string> {
    const last = await this.admin.xrevrange(this.feed, "+", "-", "COUNT", 1);
    return last[0]?.[0] ?? "0-0";
  }

  async readFeed(after: string, count: number, blockMs?: number): Promise<{ id: string; event: CacheEvent }[]> {
    const res = blockMs === undefined
      ? await this.feedConn.xread("COUNT", count, "STREAMS", this.feed, after)
      : await this.feedConn.xread("COUNT", count, "BLOCK", blockMs, "STREAMS", this.feed, after);
    const out: { id: string; event: CacheEvent }[] = [];
    for (const [, messages] of res ?? []) {
      for (const [id, fields] of messages) {
        const event = fieldsToEvent(fields);
        if (event) out.push({ id, event });
      }
    }
    return out;
  }
}

/** The store's three connections to one Redis, started connecting in the background (a down Redis is a degraded cache, not a failed start). */
export function connectRedisStore(
  url: string,
  opts: RedisStoreOptions & { timeoutMs: number; onError?: (err: Error) => void },
): { store: RedisCacheStore; clients: Redis[]; ready(waitMs: number): Promise<boolean>; close(): Promise<void> } {
  const hot = new Redis(url, hotRedisOptions(opts.timeoutMs));
  const admin = new Redis(url, adminRedisOptions());
  const feed = new Redis(url, adminRedisOptions());
  const clients = [hot, admin, feed];
  for (const c of clients) {
    // ioredis reconnects on its own; meanwhile commands fail fast and lookups pass as misses.
    c.on("error", (err: Error) => opts.onError?.(err));
    c.connect().catch(() => undefined);
  }
  return {
    store: new RedisCacheStore(hot, admin, feed, opts),
    clients,
    /** Whether the request-path connection is up within `waitMs` (without an offline queue, commands sent earlier fail). */
    ready: (waitMs) =>
      hot.status === "ready"
        ? Promise.resolve(true)
        : new Promise<boolean>((resolve) => {
            const t = setTimeout(() => resolve(false), waitMs);
            t.unref();
            hot.once("ready", () => {
              clearTimeout(t);
              resolve(true);
            });
          }),
    close: async () => {
      await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
