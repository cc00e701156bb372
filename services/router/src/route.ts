import { costOf, findModel, isoDate, NO_USAGE, servedSuccessor, type ModelPrice, type PriceCatalog, type Provider, type Usage } from "@costwise/pricing";
import { decodeVector } from "@costwise/embeddings";
import { percentBucket, type FallbackInfo, type ShadowEntry } from "@costwise/route-state";
import type { LlmRequest, QueryEmbedding } from "@costwise/schemas";
import { predict } from "./classifier.ts";
import { denseFeatures } from "./features.ts";
import { decideDistilled } from "./distilled.ts";
import { routeInputOf, type RouteInput } from "./input.ts";
import type { RouterPolicy, Tier, UseCasePolicy } from "./policy.ts";
import type { RouteDeps, RouteKind, RouteOutcome } from "./route-types.ts";
import { callSignal, difficultyScore, llmRouterMessages, parseDifficulty } from "./strategies/llm.ts";
import { scoreRules } from "./strategies/rules.ts";
import { embeddingTextOf } from "./semantic/embedding-text.ts";
import { semanticScoreDetail } from "./semantic/model.ts";
import { FRONTIER_ONLY } from "./semantic/calibration.ts";
import { shadowsRoute } from "./semantic/live.ts";

export type { RouteDeps, RouteEmbedder, RouteKind, RouteOutcome } from "./route-types.ts";
export type { FallbackInfo, ShadowEntry } from "@costwise/route-state";

const fmt = (x: number) => x.toFixed(2);

// A reference call shape for "is this tier cheaper than the caller's model": prices differ in their
// input/output mix, so both are weighed as a typical chat call (1000 tokens in, 250 out).
const REFERENCE_USAGE: Usage = { inputTokens: 1000, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 250 };
const referenceCost = (m: ModelPrice) => costOf(m, REFERENCE_USAGE).totalNanoUsd;

/**
 * A use case without a policy (or a request the router cannot price) keeps the caller's model:
 * the route records that nothing was decided, so llm_calls still shows the request per route.
 */
function passthrough(req: LlmRequest, policy: RouterPolicy, catalog: PriceCatalog, reason: string): RouteOutcome {
  const id = req.model ?? policy.passthroughModel?.id ?? null;
  if (!id) return { route: null, kind: "passthrough", overheadNanoUsd: 0, shadow: null };
  const provider = findModel(catalog, id)?.provider ?? "";
  return { route: { tier: "frontier", model: id, provider, strategy: "passthrough", score: null, reason, shadow: false, cascade: null }, kind: "passthrough", overheadNanoUsd: 0, shadow: null };
}

/**
 * The model of the use case's last tier for this request: the caller's model (or the use case's
 * defaultModel when the request names none) for a "caller" tier, else the tier's model for the
 * caller's provider. null when it cannot be priced.
 */
export function frontierModelOf(req: Pick<LlmRequest, "model">, uc: UseCasePolicy, catalog: PriceCatalog): ModelPrice | null {
  const named = req.model ? findModel(catalog, req.model) ?? null : uc.defaultModel;
  const caller = named && named.kind === "chat" ? named : null;
  const last = uc.tiers[uc.tiers.length - 1]!;
  if (last.models === null) return caller;
  return (caller ? last.models[caller.provider] : undefined) ?? Object.values(last.models)[0] ?? null;
}

/** The tier index a score selects: the first tier whose maxScore is above it, else the last. */
export function tierForScore(tiers: readonly Tier[], score: number): number {
  const i = tiers.findIndex((t) => t.maxScore !== null && score < t.maxScore);
  return i < 0 ? tiers.length - 1 : i;
}

interface Resolved {
  readonly index: number;
  readonly model: ModelPrice;
  readonly skipped: string | null;
}

/**
 * The concrete model for a tier and the caller's provider, moving up to the next tier when a
 * tier has no model for that provider or would not be cheaper than the frontier model.
 */
function resolve(uc: UseCasePolicy, index: number, provider: Provider, frontier: ModelPrice): Resolved {
  const last = uc.tiers.length - 1;
  let skipped: string | null = null;
  for (let i = index; i < last; i++) {
    const m = uc.tiers[i]!.models?.[provider];
    if (!m) {
      skipped ??= `tier ${uc.tiers[i]!.name} has no ${provider} model`;
      continue;
    }
    if (referenceCost(m) >= referenceCost(frontier)) {
      skipped ??= `${m.id} is not cheaper than ${frontier.id}`;
      continue;
    }
    return { index: i, model: m, skipped };
  }
  return { index: last, model: frontier, skipped };
}

interface Scored {
  readonly score: number | null;
  readonly index: number;
  readonly forced: boolean;
  readonly why: string;
  readonly overhead: number;
  readonly error: boolean;
  readonly embedding?: QueryEmbedding;
}

/** The request's embedding for a semantic model: the cache's when it used the same model, else one computed here. */
async function vectorFor(req: LlmRequest, input: RouteInput, model: string, deps: RouteDeps, signal: AbortSignal | undefined): Promise<{ vector: Float32Array; cost: number; computed: QueryEmbedding | null } | null> {
  const carried = req.pipeline?.embedding;
  if (carried && carried.model === model) return { vector: decodeVector(carried.vector), cost: 0, computed: null };
  if (!deps.embedder || deps.embedder.name !== model) return null;
  const e = await deps.embedder.embed(embeddingTextOf(input), signal);
  return { vector: e.vector, cost: e.costNanoUsd, computed: { model, vector: Buffer.from(e.vector.buffer, e.vector.byteOffset, e.vector.byteLength) } };
}

async function score(uc: UseCasePolicy, input: RouteInput, req: LlmRequest, deps: RouteDeps, holdout: boolean, signal: AbortSignal | undefined): Promise<Scored> {
  const last = uc.tiers.length - 1;
  switch (uc.strategy) {
    case "rules": {
      const r = scoreRules(uc.rules, uc.baseScore, input);
      const rulesText = r.matched.length > 0 ? r.matched.join(",") : "no rule matched";
      if (r.forcedTier !== null) {
        return { score: r.score, index: uc.tiers.findIndex((t) => t.name === r.forcedTier), forced: true, why: `rule forced tier ${r.forcedTier} (${rulesText})`, overhead: 0, error: false };
      }
      return { score: r.score, index: tierForScore(uc.tiers, r.score), forced: false, why: `rules (${rulesText}) score ${fmt(r.score)}`, overhead: 0, error: false };
    }
    case "classifier": {
      const p = predict(uc.classifier!.model, input);
      return { score: p, index: tierForScore(uc.tiers, p), forced: false, why: `classifier ${uc.classifier!.model.version} p(strong needed)=${fmt(p)}`, overhead: 0, error: false };
    }
    case "semantic": {
      if (holdout) return { score: null, index: last, forced: false, why: "semantic router not needed (holdout)", overhead: 0, error: false };
      const sem = uc.semantic!;
      let v: Awaited<ReturnType<typeof vectorFor>>;
      try {
        v = await vectorFor(req, input, sem.model.embedding.model, deps, signal);
      } catch (err) {
        return { score: null, index: last, forced: false, why: `embedding failed (${(err as Error).name})`, overhead: 0, error: true };
      }
      if (!v) return { score: null, index: last, forced: false, why: `no ${sem.model.embedding.model} embedding for the semantic router`, overhead: 0, error: true };
      const d = semanticScoreDetail(sem.model, v.vector, denseFeatures(input));
      const p = d.score;
      const far = d.pull > 0 ? ` (raised from ${fmt(d.p)}: nearest training centroid similarity ${d.similarity!.toFixed(3)} < ${sem.model.ood!.none.toFixed(3)}, out of distribution)` : "";
      const threshold = deps.semanticThreshold?.(uc.useCase) ?? sem.threshold;
      const target = sem.target.quality !== undefined ? `quality ${sem.target.quality}` : `strong share ≤ ${sem.target.strong_share_max}`;
      return {
        score: p, index: p < threshold ? 0 : last, forced: false, overhead: v.cost, error: false,
        why: `semantic ${sem.model.version} p(strong needed)=${fmt(p)}${far}, ${threshold === FRONTIER_ONLY ? "frontier until shadow samples confirm a threshold" : `threshold ${threshold.toFixed(3)}${threshold === sem.threshold ? "" : " (re-calibrated from shadow results)"}`} for ${target}`,
        ...(v.computed ? { embedding: v.computed } : {}),
      };
    }
    case "llm": {
      // Holdout traffic goes to the frontier anyway: do not pay for a routing call it will not use.
      if (holdout) return { score: null, index: last, forced: false, why: "llm router not called", overhead: 0, error: false };
      if (!deps.llm) return { score: null, index: last, forced: false, why: "llm router unavailable", overhead: 0, error: true };
      const model = uc.llm.model;
      try {
        const res = await deps.llm.chat({ model: model.id, messages: llmRouterMessages(input, uc.llm.maxPromptChars), maxTokens: 4, temperature: 0, requestId: req.request_id, ...(signal ? { signal: callSignal(signal)! } : {}) });
        // Priced at the model that answered (a provider fallback may have answered instead).
        const used = findModel(deps.catalog, res.model) ?? model;
        const overhead = costOf(used, res.usage ?? NO_USAGE).totalNanoUsd;
        const d = parseDifficulty(res.content);
        const s = d === null ? uc.llm.unparseableScore : difficultyScore(d);
        const why = d === null ? `llm ${model.id} answer unreadable, score ${fmt(s)}` : `llm ${model.id} rated ${d}/5`;
        return { score: s, index: tierForScore(uc.tiers, s), forced: false, why, overhead, error: false };
      } catch (err) {
        return { score: null, index: last, forced: false, why: `llm router failed (${(err as Error).name})`, overhead: 0, error: true };
      }
    }
    case "cascade":
      return { score: null, index: 0, forced: false, why: "cascade: cheapest tier answers first, escalation on a failed check", overhead: 0, error: false };
  }
}

/**
 * A sampled request the semantic router sent to the frontier, compared with the cheap tier's
 * answer so that re-calibration sees both sides of the threshold (`shadowsRoute`). Not while the
 * cheap route is in fallback: its samples then are not calibration samples (the frontier serves
 * every request), and a draw of only the frontier-routed side would not be uniform.
 */
function calibrationProbe(uc: UseCasePolicy, provider: Provider, frontierModel: ModelPrice, deps: RouteDeps, entry: (cheapTier: string, cheapModel: ModelPrice, servedModel: ModelPrice, flags: { fallback: boolean; calibration: true }) => ShadowEntry): ShadowEntry | null {
  if (!shadowsRoute(uc, "frontier")) return null;
  const cheap = resolve(uc, 0, provider, frontierModel);
  if (cheap.index !== 0 || deps.fallback(uc.useCase, uc.tiers[0]!.name)) return null;
  return entry(uc.tiers[0]!.name, cheap.model, frontierModel, { fallback: false, calibration: true });
}

/**
 * Decide one request's route. Deterministic for a given request, policy, date and fallback state
 * (LLM-as-router aside): rollout and shadow sampling hash the request id, so a redelivered
 * request is routed the same way.
 *
 * A caller's model (or the use case's defaultModel) that its provider has retired would only earn
 * an error: the request is routed as if it had named the model's documented, priced successor,
 * and the route records the model it replaced (substituted_from, copied onto the cost record).
 */
export async function decideRoute(req: LlmRequest, policy: RouterPolicy, deps: RouteDeps, signal?: AbortSignal): Promise<RouteOutcome> {
  const asked = req.model ?? policy.useCases.get(req.use_case)?.defaultModel?.id ?? policy.passthroughModel?.id ?? null;
  const successor = asked ? servedSuccessor(deps.catalog, asked, isoDate((deps.now ?? Date.now)())) : null;
  if (!successor) return decideFor(req, policy, deps, signal);
  const outcome = await decideFor({ ...req, model: successor }, policy, deps, signal);
  if (!outcome.route) return outcome;
  const reason = `${asked} is retired: routed as its successor ${successor}; ${outcome.route.reason}`;
  return { ...outcome, route: { ...outcome.route, substituted_from: asked, reason } };
}

async function decideFor(req: LlmRequest, policy: RouterPolicy, deps: RouteDeps, signal: AbortSignal | undefined): Promise<RouteOutcome> {
  const uc = policy.useCases.get(req.use_case);
  if (!uc) return passthrough(req, policy, deps.catalog, `no routing policy for use case "${req.use_case}"`);
  const frontierModel = frontierModelOf(req, uc, deps.catalog);
  if (!frontierModel) {
    const why = req.model ? `model "${req.model}" is not in the price catalog: not routed` : `request names no model and use case "${uc.useCase}" has no defaultModel`;
    return passthrough(req, policy, deps.catalog, why);
  }
  const provider = frontierModel.provider;
  const input = routeInputOf(req);
  const bucket = percentBucket(req.request_id, "rollout");
  const holdout = bucket >= uc.rollout;
  // A switched use case goes to its distilled model (or, in fallback, to the frontier tier) without scoring.
  const sw = holdout ? null : (deps.distilled?.(req.tenant, req.use_case) ?? null);
  const distilled = sw ? decideDistilled(req, uc, sw, frontierModel, deps) : null;
  if (distilled) return distilled;
  const s = await score(uc, input, req, deps, holdout, signal);

  const decide = (index: number, model: ModelPrice, reason: string, kind: RouteKind, shadow: ShadowEntry | null): RouteOutcome => ({
    route: {
      tier: uc.tiers[index]!.name, model: model.id, provider: model.provider, strategy: uc.strategy, score: s.score, reason, shadow: shadow !== null,
      // A cheap cascade answer is checked by the executor: the plan travels with the route.
      cascade: uc.strategy === "cascade" && index < uc.tiers.length - 1 ? { escalate_tier: uc.tiers[uc.tiers.length - 1]!.name, escalate_model: frontierModel.id, escalate_provider: frontierModel.provider, ...uc.cascade.checks } : null,
    },
    kind, overheadNanoUsd: s.overhead, shadow, ...(s.embedding ? { embedding: s.embedding } : {}),
  });
  const last = uc.tiers.length - 1;
  if (holdout) return decide(last, frontierModel, `rollout holdout: bucket ${fmt(bucket)} ≥ ${uc.rollout}%; ${s.why}`, "holdout", null);
  if (s.error) return decide(last, frontierModel, s.why, "router-error", null);

  const r = resolve(uc, s.index, provider, frontierModel);
  const intended = uc.tiers[r.index]!;
  const skippedNote = r.skipped ? `; ${r.skipped}` : "";
  const sampled = percentBucket(req.request_id, "shadow") < uc.shadow.sampleRate * 100;
  const entry = (cheapTier: string, cheapModel: ModelPrice, servedModel: ModelPrice, flags: { fallback: boolean; calibration?: true }): ShadowEntry => ({
    request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, created_at: req.created_at, strategy: uc.strategy, score: s.score,
    cheapTier, frontierTier: uc.tiers[last]!.name, cheapModel: cheapModel.id, frontierModel: frontierModel.id, servedModel: servedModel.id,
    ...flags, messages: deps.renderMessages(req), maxTokens: req.max_tokens, temperature: req.temperature,
  });
  if (r.index === last) {
    const kind: RouteKind = s.forced ? "forced" : r.skipped && s.index < last ? "not-cheaper" : "routed";
    return decide(last, frontierModel, `${s.why} → ${intended.name}${skippedNote}`, kind, kind === "routed" && sampled ? calibrationProbe(uc, provider, frontierModel, deps, entry) : null);
  }

  const fb = deps.fallback(uc.useCase, intended.name);
  const shadowEntry = (servedModel: ModelPrice): ShadowEntry | null => (sampled ? entry(intended.name, r.model, servedModel, { fallback: fb !== null }) : null);
  if (fb) {
    const why = `fallback: route ${intended.name} agreement ${fmt(fb.agreement)} < floor ${fmt(fb.floor)} over ${fb.samples} comparisons; ${s.why}`;
    return decide(last, frontierModel, why, "fallback", shadowEntry(frontierModel));
  }
  return decide(r.index, r.model, `${s.why} → ${intended.name}${skippedNote}`, s.forced ? "forced" : "routed", shadowEntry(r.model));
}

