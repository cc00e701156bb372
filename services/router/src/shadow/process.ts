import { judgeAnswers, type ChatPort, type TextEmbedder } from "@costwise/judging";
import { costOf, findModel, type PriceCatalog } from "@costwise/pricing";
import { outcomeProblem, succeeded } from "@costwise/outcomes";
import { topics, type LlmOutcome, type LlmResponse } from "@costwise/schemas";
import { deadLetter, errorMessage, mapLimit, PoisonMessageError, skip, type BatchProcessFn, type Envelope, type Logger, type Outcome } from "@costwise/stream-runtime";
import type { RouterMetrics } from "../metrics.ts";
import type { RouterPolicy, UseCasePolicy } from "../policy.ts";
import { nextFallback } from "../quality.ts";
import type { FallbackInfo, ShadowEntry } from "../route.ts";
import type { RouteStore } from "../store.ts";
import { routeId } from "../store.ts";
import { callSignal } from "../strategies/llm.ts";
import type { ShadowWriter } from "./clickhouse.ts";
import { chDateTime, type FallbackEventRow, type ShadowRow } from "./rows.ts";

export interface ShadowDeps {
  readonly policy: RouterPolicy;
  readonly store: RouteStore;
  readonly chat: ChatPort;
  readonly catalog: PriceCatalog;
  readonly writer: ShadowWriter;
  /** The sentence model of the "embedding" judge (the cache's local all-MiniLM-L6-v2); null when no route uses it. */
  readonly embedder?: TextEmbedder | null;
  readonly now: () => number;
  /** Shadow calls in flight at once per sub-batch. */
  readonly concurrency: number;
  readonly metrics?: RouterMetrics;
  /** How long a cheap route's answer is remembered for its outcome (llm.outcomes); 0: outcomes are not counted. */
  readonly outcomeMemorySeconds?: number;
}

/** The cheap tier whose model gave this answer (null: the frontier tier, the caller's model, or no policy). */
export function cheapTierOf(policy: RouterPolicy, res: LlmResponse): string | null {
  if (res.status !== "OK" || res.model === null || (res.served_by !== "REALTIME" && res.served_by !== "BATCH")) return null;
  const uc = policy.useCases.get(res.use_case);
  if (!uc) return null;
  const cheap = uc.tiers.slice(0, -1).find((t) => Object.values(t.models ?? {}).some((m) => m?.id === res.model));
  return cheap?.name ?? null;
}

interface Compared {
  readonly entry: ShadowEntry;
  readonly uc: UseCasePolicy | undefined;
  readonly row: ShadowRow | null;
  readonly agreed: 0 | 1 | null;
  readonly note: string;
}


/**
 * The shadow consumer (llm.responses): for each answer of a shadowed request, get the other
 * tier's answer for the same messages, judge their agreement, land the comparison in
 * ClickHouse, and move the route's rolling window — entering automatic fallback when agreement
 * drops below the floor and leaving it when it recovers. Answers of requests that were not
 * shadowed cost one Redis MGET per sub-batch.
 *
 * Order makes redelivery safe: rows are written (idempotent) before the pending entry is
 * consumed, and consuming it is what counts the comparison, atomically, exactly once.
 */
export function createShadowProcess(deps: ShadowDeps): BatchProcessFn<LlmResponse | LlmOutcome> {
  const compare = async (res: LlmResponse, entry: ShadowEntry, logger: Logger, signal: AbortSignal): Promise<Compared> => {
    const uc = deps.policy.useCases.get(entry.use_case);
    if (!uc) return { entry, uc, row: null, agreed: null, note: "use case no longer has a policy" };
    if (res.status !== "OK" || res.content === null) return { entry, uc, row: null, agreed: null, note: "served answer is an error" };
    // In fallback, and for a calibration sample above the threshold, the frontier served and the cheap model is the shadow.
    const servedFrontier = entry.fallback || entry.calibration === true;
    const otherModel = servedFrontier ? entry.cheapModel : entry.frontierModel;
    const base = {
      request_id: entry.request_id, tenant: entry.tenant, use_case: entry.use_case, ts: chDateTime(entry.created_at), judged_at: chDateTime(deps.now()),
      cheap_tier: entry.cheapTier, frontier_tier: entry.frontierTier, route_strategy: entry.strategy, route_score: entry.score ?? 0,
      served_model: res.model ?? entry.servedModel, shadow_model: otherModel, cheap_model: entry.cheapModel, frontier_model: entry.frontierModel,
      fallback_active: entry.fallback ? 1 : 0, judge: uc.shadow.judge, price_catalog_version: deps.catalog.version, version: deps.now(),
    };
    // A retry of this comparison (the judge failed after the shadow call was paid) reuses the answer.
    let other = await deps.store.shadowAnswer(entry.request_id);
    if (!other) {
      try {
        const called = await deps.chat.chat({ model: otherModel, messages: entry.messages, maxTokens: entry.maxTokens, temperature: entry.temperature, requestId: entry.request_id, signal: callSignal(signal)! });
        other = { content: called.content, model: called.model, usage: called.usage };
      } catch (err) {
        if (!(err instanceof PoisonMessageError)) throw err;
        logger.warn({ request_id: entry.request_id, model: otherModel, err: errorMessage(err) }, "shadow call refused: comparison dropped");
        return { entry, uc, row: null, agreed: null, note: "shadow call refused" };
      }
      await deps.store.rememberShadowAnswer(entry.request_id, other, uc.shadow.ttlSeconds).catch((err: unknown) =>
        logger.warn({ request_id: entry.request_id, err: errorMessage(err) }, "shadow answer not kept: a retry would call again"));
    }
    const shadowCost = costOf(findModel(deps.catalog, other.model) ?? findModel(deps.catalog, otherModel)!, other.usage).totalNanoUsd;
    const cheap = servedFrontier ? other.content : res.content;
    const frontier = servedFrontier ? res.content : other.content;
    const request = entry.messages.filter((m) => m.role === "user").at(-1)?.content ?? "";
    let judgement;
    try {
      judgement = await judgeAnswers(cheap, frontier, { method: uc.shadow.judge, similarity: uc.shadow.similarity, judgeModel: uc.shadow.judgeModel, chat: deps.chat, catalog: deps.catalog, embedder: deps.embedder ?? null, request, requestId: entry.request_id, signal: callSignal(signal)! });
    } catch (err) {
      if (!(err instanceof PoisonMessageError)) throw err;
      judgement = { agreement: null, agreed: null, costNanoUsd: 0, error: `judge call refused: ${errorMessage(err)}` };
    }
    const row: ShadowRow = {
      ...base,
      agreement: judgement.agreement ?? 0, agreed: judgement.agreed ? 1 : 0, decided: judgement.agreed === null ? 0 : 1, judge_error: judgement.error ?? "",
      cheap_answer_chars: cheap.length, frontier_answer_chars: frontier.length,
      shadow_input_tokens: other.usage.inputTokens, shadow_output_tokens: other.usage.outputTokens,
      shadow_cost_nanousd: shadowCost, judge_cost_nanousd: judgement.costNanoUsd,
    };
    return { entry, uc, row, agreed: judgement.agreed === null ? null : judgement.agreed ? 1 : 0, note: judgement.agreed === null ? "undecided" : judgement.agreed ? "agree" : "disagree" };
  };

  /**
   * The route's fallback state after its window moved (by a shadow comparison or an outcome).
   * Several batches (partitions, router instances) judge the same route at once: the store
   * decides which one made a transition, and only that one reports it.
   */
  const step = async (route: { useCase: string; tier: string }, window: number[], uc: UseCasePolicy, states: Map<string, FallbackInfo>, logger: Logger, requestId: string): Promise<FallbackEventRow | null> => {
    const m = deps.metrics;
    const labels = { use_case: route.useCase, tier: route.tier };
    const key = routeId(route);
    const next = nextFallback(states.get(key) ?? null, window, uc.quality, deps.now());
    if (next.rate !== null) m?.agreement.set(labels, next.rate);
    let transitioned = false;
    if (next.transition === "enter") {
      transitioned = await deps.store.enterFallback(route, next.state!);
      states.set(key, next.state!);
    } else if (next.transition === "recover") {
      transitioned = await deps.store.leaveFallback(route);
      states.delete(key);
    } else if (next.state) {
      await deps.store.updateFallback(route, next.state);
      states.set(key, next.state);
    }
    if (!transitioned || !next.transition) return null;
    m?.fallbackActive.set(labels, next.transition === "enter" ? 1 : 0);
    m?.fallbackTransitions.inc({ ...labels, transition: next.transition });
    const fields = { ...labels, agreement: next.rate, samples: window.length, floor: uc.quality.floor };
    if (next.transition === "enter") logger.warn(fields, "route agreement below its floor: falling back to the frontier tier");
    else logger.info(fields, "route agreement recovered: leaving fallback");
    return { ts: chDateTime(deps.now()), use_case: route.useCase, tier: route.tier, transition: next.transition, agreement: next.rate ?? 0, samples: window.length, floor: uc.quality.floor, request_id: requestId };
  };

  /**
   * Outcomes (llm.outcomes) of cheap-route answers count in the route's quality window like
   * shadow comparisons (success 1, failure 0), once per request: the first usable outcome of a
   * remembered answer counts, later ones for it find nothing. Unusable outcomes are skipped (the
   * sink dead-letters them).
   */
  const onOutcomes = async (batch: readonly { value: LlmOutcome }[], logger: Logger): Promise<Outcome[]> => {
    const states = await deps.store.fallbacks();
    const events: FallbackEventRow[] = [];
    const out: Outcome[] = [];
    for (const e of batch) {
      const o = e.value;
      if (outcomeProblem(o)) {
        out.push(skip("outcome unusable"));
        continue;
      }
      const counted = await deps.store.countOutcome(o.request_id, succeeded(o) ? 1 : 0, (r) => deps.policy.useCases.get(r.useCase)?.quality.window ?? 1);
      const uc = counted ? deps.policy.useCases.get(counted.route.useCase) : undefined;
      if (!counted || !uc) {
        out.push(skip("outcome: not a cheap-route answer (or counted)"));
        continue;
      }
      deps.metrics?.shadowResults.inc({ use_case: counted.route.useCase, tier: counted.route.tier, result: succeeded(o) ? "outcome_success" : "outcome_failure" });
      const event = await step(counted.route, counted.window, uc, states, logger, o.request_id);
      if (event) events.push(event);
      out.push(skip(`outcome counted in ${counted.route.tier}`));
    }
    const refused = new Map<string, string>();
    for (const r of await deps.writer.fallbackEvents(events)) refused.set(r.item.request_id, r.reason);
    return out.map((x, i) => (refused.has(batch[i]!.value.request_id) ? deadLetter(refused.get(batch[i]!.value.request_id)!) : x));
  };

  return async (mixed, ctx) => {
    if (mixed[0]?.topic === topics.outcomes.name) return onOutcomes(mixed as unknown as { value: LlmOutcome }[], ctx.logger);
    const batch = mixed as unknown as readonly Envelope<LlmResponse>[];
    if (deps.outcomeMemorySeconds) {
      const served = batch.flatMap((e) => {
        const tier = cheapTierOf(deps.policy, e.value);
        return tier ? [{ requestId: e.value.request_id, route: { useCase: e.value.use_case, tier } }] : [];
      });
      // Evidence for later: a lost record costs one outcome's count, never the comparison.
      await deps.store.rememberServed(served, deps.outcomeMemorySeconds).catch((err: unknown) => ctx.logger.debug({ err: errorMessage(err) }, "cheap answers not remembered for outcomes"));
    }
    const entries = await deps.store.pendingShadows(batch.map((e) => e.value.request_id));
    // A redelivered answer can sit twice in one sub-batch: compare it once.
    const seen = new Set<string>();
    const work = batch.flatMap((e, i) => (entries[i] && !seen.has(e.value.request_id) && seen.add(e.value.request_id) ? [{ res: e.value, entry: entries[i]! }] : []));
    if (work.length === 0) return batch.map(() => skip("not shadowed"));

    const compared = await mapLimit(work, deps.concurrency, (w) => compare(w.res, w.entry, ctx.logger, ctx.signal));
    const refused = new Map<string, string>();
    for (const r of await deps.writer.comparisons(compared.flatMap((c) => (c.row ? [c.row] : [])))) refused.set(r.item.request_id, r.reason);

    const states = await deps.store.fallbacks();
    const events: FallbackEventRow[] = [];
    const m = deps.metrics;
    for (const c of compared) {
      const route = { useCase: c.entry.use_case, tier: c.entry.cheapTier };
      const labels = { use_case: route.useCase, tier: route.tier };
      const size = c.uc?.quality.window ?? 1;
      // A calibration sample of a frontier-routed request says how the cheap model does on requests
      // the route keeps off it: it feeds re-calibration (its row) but not the route's agreement window.
      const { window, counted } = await deps.store.completeShadow(c.entry.request_id, route, c.entry.calibration ? null : c.agreed, size);
      if (c.row) {
        m?.shadowResults.inc({ ...labels, result: c.note });
        m?.shadowCostNanoUsd.inc({ use_case: route.useCase }, c.row.shadow_cost_nanousd + c.row.judge_cost_nanousd);
      } else {
        m?.shadowLost.inc({ reason: c.note });
      }
      if (!counted || !c.uc) continue;
      const event = await step(route, window, c.uc, states, ctx.logger, c.entry.request_id);
      if (event) events.push(event);
    }
    for (const r of await deps.writer.fallbackEvents(events)) if (!refused.has(r.item.request_id)) refused.set(r.item.request_id, r.reason);
    const done = new Map(compared.map((c) => [c.entry.request_id, c.note]));
    return batch.map((e): Outcome => {
      const why = refused.get(e.value.request_id);
      if (why) return deadLetter(why);
      return skip(done.has(e.value.request_id) ? `shadow ${done.get(e.value.request_id)}` : "not shadowed");
    });
  };
}
