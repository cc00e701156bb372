import type { LlmRequest, LlmResponse } from "@costwise/schemas";
import type { Logger } from "@costwise/stream-runtime";
import { errorMessage } from "@costwise/stream-runtime";
import type { ScopedAnnIndex } from "./ann.ts";
import type { Embedder } from "@costwise/embeddings";
import { compareSalient, memoisedSalientDetails, SALIENT_VERSION, type SalientDetails } from "./guard.ts";
import { canonicalize, eligibility, type CanonicalRequest } from "./key.ts";
import type { CacheMetrics } from "./metrics.ts";
import { policyFor, type CachePolicies, type UseCasePolicy } from "./policy.ts";
import { CalibrationBook } from "./calibration.ts";
import { binOf, decide, ExplorationBudget, formatOutcome, parseOutcomes, BIN_LOW, type Decision } from "./decision.ts";
import { decodeVector, encodeVector, type CacheEntry, type CacheStore, NEIGHBOURHOODS, type Neighbourhood, type PendingLookup, type PendingVerification } from "./store.ts";
import type { AnswerVerifier } from "./verifier.ts";

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
  /** The decision on the best candidate the guard let through (null: no candidate, or a fixed threshold). */
  readonly decision: Decision | null;
  /** A miss whose answer is to be judged against this neighbour (near miss or exploration). */
  readonly verify: PendingVerification | null;
}

/** An answer to judge against the cached neighbour's, produced off the request path when a pending miss is answered. */
export interface VerificationJob {
  readonly request_id: string;
  readonly tenant: string;
  readonly use_case: string;
  readonly entry_ref: string;
  /** The entry the fresh answer was stored as (null when another answer already held its key). */
  readonly fresh_ref: string | null;
  readonly similarity: number;
  readonly explored: boolean;
  /** The calibration the decision was made in (null from producers that predate neighbourhoods: "single"). */
  readonly neighbourhood: string | null;
  /** The query of the request that was answered (the judge may read it). */
  readonly query: string;
  /** The model's fresh answer. */
  readonly answer: string;
  readonly embedder: string;
  readonly created_at: number;
}

export interface LearnOutcome {
  readonly result: LearnResult;
  readonly verification: VerificationJob | null;
}

export type VerifyResult = "ok" | "wrong" | "entry_gone" | "no_verifier" | "other_model";

export type LearnResult = "stored" | "exists" | "invalidated" | "not_pending" | "not_ok" | "served_by_cache" | "mismatch" | "tool_calls";

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
  /** The judge of near misses and explorations; without one, use cases with max_wrong_rate never learn to serve. */
  readonly verifier?: AnswerVerifier | null;
  /** Exploration draws; seeded in the evaluation. */
  readonly random?: () => number;
  /** The guard's detail extraction (the evaluation memoises it across passes over the same queries). */
  readonly salient?: (text: string) => SalientDetails;
  /** How stale this replica's copy of a shared calibration may get before a background refresh (default 1 s). */
  readonly calibrationRefreshMs?: number;
  /**
   * Why the use case's semantic hits are backed off after a quality regression measured on
   * outcomes (null: they are not): the cache then serves it exact matches only.
   */
  readonly exactOnly?: (useCase: string) => string | null;
}

export interface CacheEngine {
  lookup(req: LlmRequest): Promise<LookupResult>;
  /** The pending record a miss leaves for learning (null when the request is not cacheable). */
  pendingFor(req: LlmRequest, result: LookupResult): PendingLookup | null;
  learn(res: LlmResponse): Promise<LearnOutcome>;
  /** Judge a fresh answer against its neighbour's and keep the outcome (entry evidence and calibration). */
  verify(job: VerificationJob): Promise<VerifyResult>;
  /** The calibrated threshold this replica uses now (tests, metrics, the evaluation's report). */
  thresholdFor(tenant: string, useCase: string, neighbourhood?: Neighbourhood): Promise<number | null>;
  /** Write this replica's pending traffic counts to the shared calibration (shutdown, tests). */
  flushCalibration(): Promise<void>;
  /** Would-be hits and explorations so far, summed over tenants and use cases. */
  explorationCounts(): { wouldBe: number; explored: number };
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
    policy, canonical: null, entry: null, similarity: null, vector: null, costNanoUsd: 0, reason: null, guardRefusals: 0, decision: null, verify: null, ...over,
  });
  const random = deps.random ?? Math.random;
  const details = deps.salient ?? memoisedSalientDetails();
  const embedderName = deps.embedder?.name ?? "";
  // Per tenant, use case and model: the evidence of one traffic never calibrates another's. The
  // counts are shared by every replica through the store; exploration budgets are per replica.
  const book = new CalibrationBook({
    store: deps.store, now: deps.now, refreshMs: deps.calibrationRefreshMs ?? 1_000,
    onError: (err, what) => {
      deps.metrics?.degraded.inc({ cause: what === "read" ? "calibration_read" : "calibration_write" });
      deps.logger?.debug({ err: errorMessage(err) }, `calibration ${what} failed`);
    },
  });
  const budgets = new Map<string, ExplorationBudget>();
  const calRef = (tenant: string, useCase: string, neighbourhood: Neighbourhood) => ({ tenant, useCase, embedder: embedderName, neighbourhood });
  const budget = (tenant: string, useCase: string, policy: UseCasePolicy) => {
    const key = JSON.stringify([tenant, useCase]);
    let b = budgets.get(key);
    if (!b) budgets.set(key, (b = new ExplorationBudget(policy.explore_rate, random)));
    return b;
  };

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
    const backedOff = policy.mode === "semantic" ? (deps.exactOnly?.(req.use_case) ?? null) : null;
    if (policy.mode !== "semantic" || !deps.embedder || backedOff !== null) {
      deps.metrics?.lookupSeconds.observe({ path: "exact" }, elapsed(started));
      return result(policy, { status: "MISS", canonical, reason: backedOff === null ? null : `exact only: semantic hits backed off (${backedOff})` });
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
    const fixed = policy.threshold;
    const floor = fixed ?? BIN_LOW;
    const near = deps.index.search(canonical.scope, vector, k, now).filter((n) => n.similarity >= floor);
    let found: { entry: CacheEntry | null; outcomes: string | null }[] = [];
    if (near.length > 0) {
      try {
        found = await deps.store.getCandidates(near.map((n) => n.entry.ref));
      } catch (err) {
        deps.metrics?.degraded.inc({ cause: "redis" });
        return result(policy, { status: "DEGRADED", canonical, vector, costNanoUsd, reason: `cache store unavailable: ${errorMessage(err)}` });
      }
    }
    let mine: SalientDetails | undefined;
    let refusals = 0;
    let reason: string | null = null;
    const done = (r: LookupResult) => {
      if (refusals > 0) deps.metrics?.guardRefusals.inc({ use_case: req.use_case }, refusals);
      deps.metrics?.lookupSeconds.observe({ path: "semantic" }, elapsed(started));
      return r;
    };
    // The best candidate the guard lets through is the one a hit would serve; the next one says
    // what kind of neighbourhood the query fell in (do the two nearest answers agree?).
    const usable: { n: (typeof near)[number]; e: CacheEntry; outcomes: string | null }[] = [];
    for (const [i, n] of near.entries()) {
      const e = found[i]?.entry;
      if (!e) {
        deps.index.remove(n.entry.ref); // expired or invalidated in Redis before this replica heard of it
        continue;
      }
      if (e.tenant !== req.tenant || e.scope !== canonical.scope || e.embedder !== deps.embedder.name) continue;
      mine ??= details(canonical.query);
      const theirs = e.salient.version === SALIENT_VERSION ? e.salient : details(e.query);
      const verdict = compareSalient(mine, theirs, policy.guard);
      if (!verdict.ok) {
        if (usable.length === 0) {
          refusals++;
          reason = `guard: ${verdict.reason}`;
        }
        continue;
      }
      usable.push({ n, e, outcomes: found[i]!.outcomes });
      if (fixed !== undefined || usable.length === 2) break;
    }
    const best = usable[0];
    if (!best) return done(result(policy, { status: "MISS", canonical, vector, costNanoUsd, reason, guardRefusals: refusals }));
    const { n, e } = best;
    const hit = () => {
      deps.metrics?.hitSimilarity.observe({ use_case: req.use_case }, n.similarity);
      return done(result(policy, { status: "HIT_SEMANTIC", canonical, entry: e, similarity: n.similarity, vector, costNanoUsd, guardRefusals: refusals }));
    };
    if (fixed !== undefined) return hit();
    const neighbourhood = neighbourhoodOf(e, usable[1]?.e);
    const ref = calRef(req.tenant, req.use_case, neighbourhood);
    const cal = await book.current(ref);
    book.traffic(ref, binOf(n.similarity));
    const decision = decide(n.similarity, parseOutcomes(best.outcomes), cal.threshold(policy.max_wrong_rate!, policy.confidence), {
      maxWrongRate: policy.max_wrong_rate!, confidence: policy.confidence, exploreRate: policy.explore_rate, floor,
    }, () => budget(req.tenant, req.use_case, policy).take());
    if (decision.kind === "serve") return { ...hit(), decision };
    const verify = decision.kind === "miss" || !deps.verifier ? null : { ref: n.entry.ref, similarity: n.similarity, explored: decision.kind === "explore", neighbourhood };
    return done(result(policy, { status: "MISS", canonical, vector, costNanoUsd, guardRefusals: refusals, decision, verify, reason: decision.kind === "explore" ? "explore" : decision.kind === "near_miss" ? `near miss (${decision.why})` : reason }));
  }

  /** The judge's verdict on the two nearest answers, from what their entries hold (see Neighbourhood). */
  function neighbourhoodOf(a: CacheEntry, b: CacheEntry | undefined): Neighbourhood {
    if (!b || !deps.verifier?.sameAnswer) return "single";
    const view = (x: CacheEntry) => ({ content: x.answer.content, vector: x.answer_vector ? decodeVector(x.answer_vector) : null });
    const same = deps.verifier.sameAnswer(view(a), view(b));
    return same === null ? "single" : same ? "agree" : "differ";
  }

  function pendingFor(req: LlmRequest, r: LookupResult): PendingLookup | null {
    if (!r.canonical || (r.status !== "MISS" && r.status !== "DEGRADED")) return null;
    const semantic = r.policy.mode === "semantic" && deps.embedder !== null;
    return {
      v: 1, request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, key: r.canonical.key, scope: r.canonical.scope,
      query: r.canonical.query, semantic, vector: semantic && r.vector ? encodeVector(r.vector) : null,
      embedder: semantic && r.vector ? deps.embedder!.name : null, ttl_seconds: r.policy.ttl_seconds, created_at: deps.now(), verify: r.verify,
    };
  }

  const learned = (result: LearnResult, verification: VerificationJob | null = null): LearnOutcome => ({ result, verification });

  async function learn(res: LlmResponse): Promise<LearnOutcome> {
    if (res.served_by === "CACHE_EXACT" || res.served_by === "CACHE_SEMANTIC") return learned("served_by_cache");
    if (res.status !== "OK" || res.content === null) return learned("not_ok");
    const p = await deps.store.getPending(res.request_id);
    if (!p) return learned("not_pending");
    if (p.tenant !== res.tenant || p.use_case !== res.use_case) return learned("mismatch");
    // A tool call acts on the world: replaying one is the use case's decision, not the cache's.
    const toolCalls = res.tool_calls ?? [];
    if (toolCalls.length > 0 && !policyFor(deps.policies, res.use_case).cache_tool_calls) return learned("tool_calls");

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
    let answerVector: string | null = null;
    if (vector && deps.verifier?.answerVector) {
      try {
        const v = await deps.verifier.answerVector(res.content);
        answerVector = v ? encodeVector(v) : null;
      } catch (err) {
        // Without it, neighbourhoods with this entry read as "single": the pooled calibration.
        deps.logger?.debug({ err: errorMessage(err), requestId: res.request_id }, "answer not embedded for the judge");
      }
    }
    const now = deps.now();
    const salient = vector ? details(p.query) : { items: [], negated: false };
    const entry: CacheEntry = {
      v: 1, key: p.key, scope: p.scope, tenant: p.tenant, use_case: p.use_case, query: p.query,
      salient: { ...salient, version: SALIENT_VERSION }, vector, embedder, answer_vector: answerVector,
      answer: {
        content: res.content, model: res.model, provider: res.provider, input_tokens: res.input_tokens, cached_input_tokens: res.cached_input_tokens, output_tokens: res.output_tokens,
        finish_reason: res.finish_reason ?? null, tool_calls: toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })),
      },
      source_request_id: res.request_id, created_at: now, expires_at: now + p.ttl_seconds * 1000,
    };
    const stored = await deps.store.learn(entry, res.request_id, p.created_at);
    if (stored === "stored" && vector && embedder === deps.embedder?.name) {
      // Read-your-writes on this replica; the change feed brings it to the others (and here again, a no-op).
      deps.index.add(p.scope, { ref: deps.store.ref(p.tenant, p.use_case, p.key), tenant: p.tenant, useCase: p.use_case, expiresAt: entry.expires_at }, decodeVector(vector));
    }
    const verification: VerificationJob | null = p.verify && p.embedder
      ? {
          request_id: res.request_id, tenant: p.tenant, use_case: p.use_case, entry_ref: p.verify.ref,
          fresh_ref: stored === "stored" ? deps.store.ref(p.tenant, p.use_case, p.key) : null, similarity: p.verify.similarity,
          explored: p.verify.explored, neighbourhood: p.verify.neighbourhood ?? "single", query: p.query, answer: res.content, embedder: p.embedder, created_at: now,
        }
      : null;
    return learned(stored, verification);
  }

  async function verify(job: VerificationJob): Promise<VerifyResult> {
    if (!deps.verifier) return "no_verifier";
    // Outcomes measured with another model's similarities would calibrate the wrong scale.
    if (job.embedder !== embedderName) return "other_model";
    const [cand] = await deps.store.getCandidates([job.entry_ref]);
    const entry = cand?.entry;
    if (!entry || entry.tenant !== job.tenant || entry.use_case !== job.use_case) return "entry_gone";
    const verdict = await deps.verifier.verify({ query: job.query, cachedAnswer: entry.answer.content, freshAnswer: job.answer });
    const outcome = { similarity: job.similarity, ok: verdict.equivalent };
    await deps.store.addOutcome(job.entry_ref, formatOutcome(outcome), entry.expires_at);
    // Similarity is symmetric: the fresh entry has the same evidence about its neighbour's region.
    if (job.fresh_ref) await deps.store.addOutcome(job.fresh_ref, formatOutcome(outcome), deps.now() + policyFor(deps.policies, job.use_case).ttl_seconds * 1000);
    const policy = policyFor(deps.policies, job.use_case);
    if (policy.mode === "semantic" && policy.max_wrong_rate !== undefined) await book.outcome(calRef(job.tenant, job.use_case, (NEIGHBOURHOODS as readonly (string | null)[]).includes(job.neighbourhood) ? (job.neighbourhood as Neighbourhood) : "single"), binOf(outcome.similarity), outcome.ok);
    return verdict.equivalent ? "ok" : "wrong";
  }

  async function thresholdFor(tenant: string, useCase: string, neighbourhood: Neighbourhood = "agree"): Promise<number | null> {
    const policy = policyFor(deps.policies, useCase);
    if (policy.max_wrong_rate === undefined) return policy.threshold ?? null;
    return (await book.current(calRef(tenant, useCase, neighbourhood))).threshold(policy.max_wrong_rate, policy.confidence);
  }

  function explorationCounts() {
    let wouldBe = 0;
    let explored = 0;
    for (const b of budgets.values()) {
      wouldBe += b.counts.wouldBe;
      explored += b.counts.explored;
    }
    return { wouldBe, explored };
  }

  return { lookup, pendingFor, learn, verify, thresholdFor, explorationCounts, flushCalibration: () => book.flush() };
}
