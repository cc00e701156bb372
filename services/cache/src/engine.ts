import type { LlmRequest, LlmResponse } from "@costwise/schemas";
import type { Logger } from "@costwise/stream-runtime";
import { errorMessage } from "@costwise/stream-runtime";
import type { ScopedAnnIndex } from "./ann.ts";
import type { Embedder } from "@costwise/embeddings";
import { compareSalient, SALIENT_VERSION, salientDetails, type SalientDetails } from "./guard.ts";
import { canonicalize, eligibility, type CanonicalRequest } from "./key.ts";
import type { CacheMetrics } from "./metrics.ts";
import { policyFor, type CachePolicies, type UseCasePolicy } from "./policy.ts";
import { decodeVector, encodeVector, type CacheEntry, type CacheStore, type PendingLookup } from "./store.ts";

/** What `pipeline.cache_lookup` says about a request; hits never reach the next stage. */
export type LookupStatus = "HIT_EXACT" | "HIT_SEMANTIC" | "MISS" | "BYPASS" | "DEGRADED" | "OFF";

export interface LookupResult {
  readonly status: LookupStatus;
  readonly policy: UseCasePolicy;
  /** Set for cacheable requests (hit, miss, degraded). */
  readonly canonical: CanonicalRequest | null;
  readonly entry: CacheEntry | null;
  /** Cosine similarity of a semantic hit. */
  readonly similarity: number | null;
  /** The query vector of a semantic lookup, kept for learning on a miss. */
  readonly vector: Float32Array | null;
  /** Lookup cost in nano-USD (OpenAI embeddings; 0 for the local model). */
  readonly costNanoUsd: number;
  /** Why: bypass/off/degraded cause, or the guard's last refusal. Contains no query text. */
  readonly reason: string | null;
  /** Candidates above the threshold that the guard refused. */
  readonly guardRefusals: number;
}

export type LearnResult = "stored" | "exists" | "invalidated" | "not_pending" | "not_ok" | "served_by_cache" | "mismatch";

export interface CacheEngineDeps {
  readonly store: CacheStore;
  readonly index: ScopedAnnIndex;
  /** null: exact caching only (embeddings switched off, or the model could not load). */
  readonly embedder: Embedder | null;
  readonly policies: CachePolicies;
  readonly now: () => number;
  readonly logger?: Logger;
  readonly metrics?: CacheMetrics;
  /** Nearest neighbours examined per semantic lookup (the guard may refuse the first ones). */
  readonly candidates?: number;
}

export interface CacheEngine {
  lookup(req: LlmRequest): Promise<LookupResult>;
  /** The pending record a miss leaves for learning (null when the request is not cacheable). */
  pendingFor(req: LlmRequest, result: LookupResult): PendingLookup | null;
  learn(res: LlmResponse): Promise<LearnResult>;
}

const elapsed = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

/**
 * Exact then semantic lookup under a use case's policy, and learning from responses. Redis
 * (the store) is the truth: an ANN neighbour is only a candidate until its entry is read back,
 * matched on tenant and scope, and passed by the salient-detail guard.
 */
export function createCacheEngine(deps: CacheEngineDeps): CacheEngine {
  const k = deps.candidates ?? 4;
  const result = (policy: UseCasePolicy, over: Partial<LookupResult> & Pick<LookupResult, "status">): LookupResult => ({
    policy, canonical: null, entry: null, similarity: null, vector: null, costNanoUsd: 0, reason: null, guardRefusals: 0, ...over,
  });

  async function lookup(req: LlmRequest): Promise<LookupResult> {
    const policy = policyFor(deps.policies, req.use_case);
    const no = eligibility(req, policy);
    if (no) return result(policy, { status: no.kind === "off" ? "OFF" : "BYPASS", reason: no.reason });

    const canonical = canonicalize(req, policy);
    const started = process.hrtime.bigint();
    let exact: CacheEntry | null;
    try {
      exact = await deps.store.get(deps.store.ref(req.tenant, req.use_case, canonical.key));
    } catch (err) {
      deps.metrics?.degraded.inc({ cause: "redis" });
      return result(policy, { status: "DEGRADED", canonical, reason: `cache store unavailable: ${errorMessage(err)}` });
    }
    if (exact && exact.tenant === req.tenant && exact.scope === canonical.scope) {
      deps.metrics?.lookupSeconds.observe({ path: "exact" }, elapsed(started));
      return result(policy, { status: "HIT_EXACT", canonical, entry: exact });
    }
    if (policy.mode !== "semantic" || !deps.embedder) {
      deps.metrics?.lookupSeconds.observe({ path: "exact" }, elapsed(started));
      return result(policy, { status: "MISS", canonical });
    }

    let vector: Float32Array;
    let costNanoUsd: number;
    const embedStart = process.hrtime.bigint();
    try {
      [{ vector, costNanoUsd }] = (await deps.embedder.embed([canonical.query])) as [{ vector: Float32Array; costNanoUsd: number }];
    } catch (err) {
      // Embedding failed: the exact lookup above already ran, so this is an exact-only miss.
      deps.metrics?.degraded.inc({ cause: "embedding" });
      return result(policy, { status: "DEGRADED", canonical, reason: `embedding failed, exact only: ${errorMessage(err)}` });
    }
    deps.metrics?.embedSeconds.observe(elapsed(embedStart));

    const now = deps.now();
    const near = deps.index.search(canonical.scope, vector, k, now).filter((n) => n.similarity >= policy.threshold!);
    let entries: (CacheEntry | null)[] = [];
    if (near.length > 0) {
      try {
        entries = await deps.store.getMany(near.map((n) => n.entry.ref));
      } catch (err) {
        deps.metrics?.degraded.inc({ cause: "redis" });
        return result(policy, { status: "DEGRADED", canonical, vector, costNanoUsd, reason: `cache store unavailable: ${errorMessage(err)}` });
      }
    }
    let mine: SalientDetails | undefined;
    let refusals = 0;
    let reason: string | null = null;
    for (const [i, n] of near.entries()) {
      const e = entries[i];
      if (!e) {
        deps.index.remove(n.entry.ref); // expired or invalidated in Redis before this replica heard of it
        continue;
      }
      if (e.tenant !== req.tenant || e.scope !== canonical.scope || e.embedder !== deps.embedder.name) continue;
      mine ??= salientDetails(canonical.query);
      const theirs = e.salient.version === SALIENT_VERSION ? e.salient : salientDetails(e.query);
      const verdict = compareSalient(mine, theirs, policy.guard);
      if (verdict.ok) {
        deps.metrics?.lookupSeconds.observe({ path: "semantic" }, elapsed(started));
        deps.metrics?.hitSimilarity.observe({ use_case: req.use_case }, n.similarity);
        return result(policy, { status: "HIT_SEMANTIC", canonical, entry: e, similarity: n.similarity, vector, costNanoUsd, guardRefusals: refusals });
      }
      refusals++;
      reason = `guard: ${verdict.reason}`;
    }
    if (refusals > 0) deps.metrics?.guardRefusals.inc({ use_case: req.use_case }, refusals);
    deps.metrics?.lookupSeconds.observe({ path: "semantic" }, elapsed(started));
    return result(policy, { status: "MISS", canonical, vector, costNanoUsd, reason, guardRefusals: refusals });
  }

  function pendingFor(req: LlmRequest, r: LookupResult): PendingLookup | null {
    if (!r.canonical || (r.status !== "MISS" && r.status !== "DEGRADED")) return null;
    const semantic = r.policy.mode === "semantic" && deps.embedder !== null;
    return {
      v: 1, request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, key: r.canonical.key, scope: r.canonical.scope,
      query: r.canonical.query, semantic, vector: semantic && r.vector ? encodeVector(r.vector) : null,
      embedder: semantic && r.vector ? deps.embedder!.name : null, ttl_seconds: r.policy.ttl_seconds, created_at: deps.now(),
    };
  }

  async function learn(res: LlmResponse): Promise<LearnResult> {
    if (res.served_by === "CACHE_EXACT" || res.served_by === "CACHE_SEMANTIC") return "served_by_cache";
    if (res.status !== "OK" || res.content === null) return "not_ok";
    const p = await deps.store.getPending(res.request_id);
    if (!p) return "not_pending";
    if (p.tenant !== res.tenant || p.use_case !== res.use_case) return "mismatch";

    let vector = p.vector;
    let embedder = p.embedder;
    if (p.semantic && vector === null && deps.embedder) {
      // The lookup could not embed (model or provider down); try once more, else store exact-only.
      try {
        const [e] = await deps.embedder.embed([p.query]);
        vector = encodeVector(e!.vector);
        embedder = deps.embedder.name;
      } catch (err) {
        deps.logger?.warn({ err: errorMessage(err), requestId: res.request_id }, "embedding failed while learning: stored for exact hits only");
      }
    }
    const now = deps.now();
    const salient = vector ? salientDetails(p.query) : { items: [], negated: false };
    const entry: CacheEntry = {
      v: 1, key: p.key, scope: p.scope, tenant: p.tenant, use_case: p.use_case, query: p.query,
      salient: { ...salient, version: SALIENT_VERSION }, vector, embedder,
      answer: { content: res.content, model: res.model, provider: res.provider, input_tokens: res.input_tokens, cached_input_tokens: res.cached_input_tokens, output_tokens: res.output_tokens },
      source_request_id: res.request_id, created_at: now, expires_at: now + p.ttl_seconds * 1000,
    };
    const stored = await deps.store.learn(entry, res.request_id, p.created_at);
    if (stored === "stored" && vector && embedder === deps.embedder?.name) {
      // Read-your-writes on this replica; the change feed brings it to the others (and here again, a no-op).
      deps.index.add(p.scope, { ref: deps.store.ref(p.tenant, p.use_case, p.key), tenant: p.tenant, useCase: p.use_case, expiresAt: entry.expires_at }, decodeVector(vector));
    }
    return stored;
  }

  return { lookup, pendingFor, learn };
}
