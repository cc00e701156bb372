/**
 * A small workload with known figures for the integration tests: cost records built by the real
 * accounting (`buildCostRecord`), mapped to rows by `callRow` of @costwise/clickhouse-writer (as the sink does) and inserted with its
 * `clickhouseWriter`, exactly as the pipeline lands them. Every test passes its own tenant.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { baselineUsageOf, buildCostRecord, catalog, NO_USAGE, requireModel, type CallAccount } from "@costwise/pricing";
import { emptyPipelineState, newRequest, type CostRecord, type PipelineState, type ServedBy } from "@costwise/schemas";
import { callRow, clickhouseWriter } from "@costwise/clickhouse-writer";

const gpt4o = requireModel(catalog, "gpt-4o");
const mini = requireModel(catalog, "gpt-4o-mini");

interface Spec {
  readonly id: string;
  readonly useCase: string;
  /** Minutes before `now` the request was created. */
  readonly agoMin: number;
  readonly servedBy: ServedBy;
  readonly model: "gpt-4o" | "gpt-4o-mini" | null;
  readonly usage?: { inputTokens: number; outputTokens: number; cachedInputTokens?: number };
  readonly error?: string;
  readonly route?: { tier: string; strategy: string; score: number };
  readonly compression?: { strategy: string; before: number; after: number };
  readonly overhead?: Record<string, number>;
  readonly queueDelayMs?: number;
}

const SPECS: readonly Spec[] = [
  { id: "plain-1", useCase: "support-chat", agoMin: 5, servedBy: "REALTIME", model: "gpt-4o", usage: { inputTokens: 1_000, outputTokens: 200 }, route: { tier: "frontier", strategy: "rules", score: 0.9 }, overhead: { router: 100 } },
  { id: "plain-2", useCase: "support-chat", agoMin: 26 * 60, servedBy: "REALTIME", model: "gpt-4o", usage: { inputTokens: 2_000, outputTokens: 100, cachedInputTokens: 1_024 } },
  { id: "routed-compressed", useCase: "support-chat", agoMin: 5, servedBy: "REALTIME", model: "gpt-4o-mini", usage: { inputTokens: 1_200, outputTokens: 150 }, route: { tier: "small", strategy: "rules", score: 0.2 }, compression: { strategy: "extractive", before: 3_000, after: 1_000 }, overhead: { router: 1_234, compression: 777, embedding: 55 } },
  { id: "hit-exact", useCase: "support-chat", agoMin: 4, servedBy: "CACHE_EXACT", model: null, usage: { inputTokens: 800, outputTokens: 150 }, overhead: { cache: 20 } },
  { id: "hit-semantic", useCase: "support-chat", agoMin: 3, servedBy: "CACHE_SEMANTIC", model: null, usage: { inputTokens: 900, outputTokens: 120 }, overhead: { embedding: 30 } },
  { id: "error", useCase: "support-chat", agoMin: 3, servedBy: "REALTIME", model: null, error: "PROVIDER_UNAVAILABLE", overhead: { embedding: 20 } },
  { id: "batch-mini", useCase: "weekly-digest", agoMin: 10, servedBy: "BATCH", model: "gpt-4o-mini", usage: { inputTokens: 1_500, outputTokens: 300 }, route: { tier: "small", strategy: "classifier", score: 0.1 }, overhead: { router: 40 }, queueDelayMs: 60_000 },
  { id: "batch-4o", useCase: "weekly-digest", agoMin: 10, servedBy: "BATCH", model: "gpt-4o", usage: { inputTokens: 500, outputTokens: 500 }, route: { tier: "frontier", strategy: "classifier", score: 0.8 }, queueDelayMs: 30_000 },
  { id: "summarised", useCase: "weekly-digest", agoMin: 9, servedBy: "REALTIME", model: "gpt-4o-mini", usage: { inputTokens: 700, outputTokens: 250 }, route: { tier: "small", strategy: "classifier", score: 0.3 }, compression: { strategy: "summary", before: 2_000, after: 500 }, overhead: { summariser: 300, router: 100 } },
];

/** The cost records of the known workload for one tenant, created relative to `now`. */
export function knownRecords(tenant: string, now: number, prefix = tenant): CostRecord[] {
  return SPECS.map((s) => {
    const p: PipelineState = emptyPipelineState();
    p.overhead = { ...(s.overhead ?? {}) };
    p.overhead_cost_nanousd = Object.values(p.overhead).reduce((a, b) => a + b, 0);
    if (s.route) p.route = { tier: s.route.tier, model: s.model ?? "gpt-4o", provider: "openai", strategy: s.route.strategy, score: s.route.score, reason: "", shadow: false, cascade: null };
    if (s.compression) p.compression = { strategy: s.compression.strategy, context_tokens_before: s.compression.before, context_tokens_after: s.compression.after, per_strategy_tokens: {} };
    const created = now - s.agoMin * 60_000;
    const request = newRequest({ request_id: `${prefix}-${s.id}`, tenant, use_case: s.useCase, messages: [{ role: "user", content: "hi" }], model: "gpt-4o", created_at: created, pipeline: p });
    const usage = s.usage ? { inputTokens: s.usage.inputTokens, cachedInputTokens: s.usage.cachedInputTokens ?? 0, cacheWriteInputTokens: 0, outputTokens: s.usage.outputTokens } : NO_USAGE;
    const isHit = s.servedBy === "CACHE_EXACT" || s.servedBy === "CACHE_SEMANTIC";
    const account: CallAccount = {
      request,
      status: s.error ? "ERROR" : "OK",
      errorCode: s.error ?? null,
      servedBy: s.servedBy,
      model: s.model ? requireModel(catalog, s.model) : null,
      usage: isHit || s.error ? NO_USAGE : usage,
      mode: s.servedBy === "BATCH" ? "batch" : "realtime",
      baselineModel: s.error ? null : gpt4o,
      baselineUsage: s.error ? NO_USAGE : baselineUsageOf(request, usage),
      completedAt: created + (s.servedBy === "BATCH" ? (s.queueDelayMs ?? 0) + 2_000 : isHit ? 15 : 800),
      queueDelayMs: s.queueDelayMs ?? 0,
      batchId: s.servedBy === "BATCH" ? `${prefix}-batch` : null,
      cacheSourceRequestId: isHit ? `${prefix}-plain-1` : null,
    };
    return buildCostRecord(account, catalog);
  });
}

export { gpt4o, mini };

/** Insert records as the sink does (same row mapping, same writer), with one version for all. */
export async function insertRecords(client: ClickHouseClient, database: string, records: readonly CostRecord[], version: number): Promise<void> {
  await clickhouseWriter(client, database).insert("llm_calls", records.map((r) => callRow(r, version)));
}

/** A `route_shadow` row as the router's shadow consumer writes it (the columns llm_overhead reads, and the rest at defaults). */
export interface KnownShadowRow {
  request_id: string; tenant: string; use_case: string; ts: string; cheap_tier: string; frontier_tier: string; route_strategy: string;
  served_model: string; shadow_model: string; fallback_active: number; judge: string; agreement: number; agreed: number; decided: number;
  shadow_cost_nanousd: number; judge_cost_nanousd: number; version: number;
}

const chTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

/**
 * Shadow comparisons of two routed calls of the known workload (one judged by an LLM, one by
 * embeddings at no cost), plus one redelivered comparison, which must be charged once.
 */
export function knownShadowRows(records: readonly CostRecord[]): KnownShadowRow[] {
  const of = (suffix: string) => records.find((r) => r.request_id.endsWith(`-${suffix}`))!;
  const row = (r: CostRecord, judge: string, shadow: number, judgeCost: number, version: number): KnownShadowRow => ({
    request_id: r.request_id, tenant: r.tenant, use_case: r.use_case, ts: chTime(r.ts), cheap_tier: r.route_tier ?? "", frontier_tier: "frontier",
    route_strategy: r.route_strategy ?? "", served_model: r.model_used ?? "", shadow_model: "gpt-4o", fallback_active: 0, judge,
    agreement: 1, agreed: 1, decided: 1, shadow_cost_nanousd: shadow, judge_cost_nanousd: judgeCost, version,
  });
  const routed = of("routed-compressed"), summarised = of("summarised");
  return [row(routed, "llm", 5_000, 300, 1), row(routed, "llm", 5_000, 300, 2), row(summarised, "embedding", 2_000, 0, 1)];
}

export async function insertShadowRows(client: ClickHouseClient, database: string, rows: readonly KnownShadowRow[]): Promise<void> {
  await client.insert({ table: `${database}.route_shadow`, values: rows as KnownShadowRow[], format: "JSONEachRow" });
}
