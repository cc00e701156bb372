import { sql, sqlIdentifier } from "@costwise/infra";
import { costOf, type ModelPrice, type PriceCatalog } from "@costwise/pricing";
import type { DistilledSwitch, FallbackInfo } from "@costwise/route-state";
import type { QueryFn, Selection } from "./export.ts";
import { inferencePriceOf } from "./prices.ts";
import type { DistillPolicy, UseCaseDistillPolicy } from "./policy.ts";
import { DISTILL_TABLES } from "./shadow.ts";
import { leastUnanimousSamples, wilsonInterval, type Interval } from "./wilson.ts";

export interface StatusSelection extends Omit<Selection, "useCase"> {
  readonly useCase?: string | undefined;
  readonly until: Date;
}

export interface SampleAgg { tenant: string; use_case: string; samples_n: string; unique_prompts_n: string }
export interface ShadowAgg { tenant: string; use_case: string; comparisons_n: string; decided_n: string; agreed_n: string; frontier_output_sum: string; candidate_output_sum: string; shadow_cost_sum: string }
export interface VolumeRow { tenant: string; use_case: string; model_used: string; served_by: string; calls_n: string; input_sum: string; cached_input_sum: string; output_sum: string }

export interface DistillData {
  readonly samples: readonly SampleAgg[];
  readonly shadow: readonly ShadowAgg[];
  readonly volumes: readonly VolumeRow[];
}

const filters = (s: StatusSelection) => (s.tenant === undefined ? "" : sql` AND tenant = ${s.tenant}`) + (s.useCase === undefined ? "" : sql` AND use_case = ${s.useCase}`);

/**
 * What status needs from ClickHouse: samples captured, shadow comparisons of each use case's
 * current candidate, and the use case's model traffic (llm_calls, deduplicated with FINAL).
 */
export async function fetchDistillData(q: QueryFn, database: string, s: StatusSelection, policy: DistillPolicy): Promise<DistillData> {
  const t = (name: string) => sqlIdentifier(`${database}.${name}`);
  const window = sql` ts >= ${s.since} AND ts < ${s.until}` + filters(s);
  const candidates = [...policy.useCases.values()].filter((u) => u.candidate).map((u) => [u.useCase, u.candidate!.id]);
  const candidateFilter = candidates.length === 0 ? " AND 0" : ` AND (${candidates.map(([uc, m]) => sql`(use_case = ${uc!} AND candidate_model = ${m!})`).join(" OR ")})`;
  // Aliases never reuse a column name: ClickHouse resolves an alias inside other expressions of the query.
  const [samples, shadow, volumes] = await Promise.all([
    q<SampleAgg>(sql`SELECT tenant, use_case, toString(count()) AS samples_n, toString(uniqExact(prompt_hash)) AS unique_prompts_n FROM ${t(DISTILL_TABLES.samples)} FINAL WHERE` + window + " GROUP BY tenant, use_case"),
    q<ShadowAgg>(
      sql`SELECT tenant, use_case, toString(count()) AS comparisons_n, toString(sum(decided)) AS decided_n, toString(sum(agreed * decided)) AS agreed_n,
        toString(sum(frontier_output_tokens * decided)) AS frontier_output_sum, toString(sum(candidate_output_tokens * decided)) AS candidate_output_sum,
        toString(sum(candidate_cost_nanousd + judge_cost_nanousd)) AS shadow_cost_sum
      FROM ${t(DISTILL_TABLES.shadow)} FINAL WHERE` + window + candidateFilter + " GROUP BY tenant, use_case",
    ),
    q<VolumeRow>(
      sql`SELECT tenant, use_case, model_used, served_by, toString(count()) AS calls_n, toString(sum(input_tokens)) AS input_sum,
        toString(sum(cached_input_tokens)) AS cached_input_sum, toString(sum(output_tokens)) AS output_sum
      FROM ${t("llm_calls")} FINAL WHERE status = 'OK' AND served_by IN ('REALTIME', 'BATCH') AND` + window + " GROUP BY tenant, use_case, model_used, served_by",
    ),
  ]);
  return { samples, shadow, volumes };
}

const MONTH_SECONDS = 30 * 86_400;

/** Scale a window's amount to a 30-day month, exactly (integer, rounded half up). */
export function perMonth(amount: bigint, windowSeconds: number): bigint {
  const w = BigInt(Math.max(1, Math.round(windowSeconds)));
  const num = amount * BigInt(MONTH_SECONDS);
  return num >= 0n ? (2n * num + w) / (2n * w) : -((2n * -num + w) / (2n * w));
}

export interface Projection {
  readonly monthlyCalls: number;
  /** What the use case's model calls cost a month now, and on the candidate (nano-USD). */
  readonly monthlyCostNanoUsd: number;
  readonly monthlyCandidateCostNanoUsd: number;
  readonly monthlySavingNanoUsd: number;
  /** Candidate output tokens per frontier output token, from the shadow comparisons (1 without any). */
  readonly outputRatio: number;
  /** Models in the traffic the catalog cannot price (left out of the projection). */
  readonly unpriced: readonly string[];
}

/**
 * Monthly saving if the use case's model traffic ran on the candidate: every OK model call of the
 * window (cache hits excluded) priced at the catalog price of the model that answered, against
 * the same prompt tokens and the shadow-measured output-length ratio at the candidate's price
 * (fine-tuned ids at OpenAI's fine-tuned inference prices). Batch calls stay batch.
 */
export function projectSaving(volumes: readonly VolumeRow[], candidate: ModelPrice, outputRatio: number, windowSeconds: number, catalog: PriceCatalog): Projection {
  let now = 0n, after = 0n, calls = 0n;
  const unpriced = new Set<string>();
  for (const v of volumes) {
    const price = inferencePriceOf(catalog, v.model_used);
    if (!price) {
      unpriced.add(v.model_used || "(none)");
      continue;
    }
    const mode = v.served_by === "BATCH" ? "batch" : "realtime";
    const input = Number(v.input_sum), cached = Math.min(Number(v.cached_input_sum), input), output = Number(v.output_sum);
    calls += BigInt(v.calls_n);
    now += BigInt(costOf(price, { inputTokens: input, cachedInputTokens: cached, cacheWriteInputTokens: 0, outputTokens: output }, mode).totalNanoUsd);
    after += BigInt(costOf(candidate, { inputTokens: input, cachedInputTokens: cached, cacheWriteInputTokens: 0, outputTokens: Math.round(output * outputRatio) }, mode).totalNanoUsd);
  }
  const month = (x: bigint) => Number(perMonth(x, windowSeconds));
  return { monthlyCalls: month(calls), monthlyCostNanoUsd: month(now), monthlyCandidateCostNanoUsd: month(after), monthlySavingNanoUsd: month(now - after), outputRatio, unpriced: [...unpriced].sort() };
}

export type SwitchState = "off" | "on" | "fallback";

export interface UseCaseStatus {
  readonly tenant: string;
  readonly useCase: string;
  readonly candidate: string | null;
  readonly samples: number;
  readonly uniquePrompts: number;
  readonly comparisons: number;
  /** Comparisons the scorer could decide; agreement is over these. */
  readonly decided: number;
  readonly agreed: number;
  readonly agreement: number | null;
  /** Wilson 95% interval of the agreement rate. */
  readonly interval: Interval | null;
  readonly shadowCostNanoUsd: number;
  readonly projection: Projection | null;
  readonly bar: { readonly minSamples: number; readonly minAgreementLower: number };
  readonly ready: boolean;
  /** Why the bar is not met (empty when ready). */
  readonly reason: string;
  readonly enabled: boolean;
  readonly switchState: SwitchState;
  readonly switchedModel: string | null;
}

/** The readiness verdict: enough decided comparisons and a Wilson lower bound at or above the bar. */
export function readiness(decided: number, agreed: number, bar: UseCaseDistillPolicy["readiness"]): { ready: boolean; reason: string; interval: Interval | null } {
  const interval = wilsonInterval(agreed, decided);
  const need = Math.max(bar.minSamples, leastUnanimousSamples(bar.minAgreementLower));
  if (decided < need) return { ready: false, reason: `${decided} of ${need} decided shadow comparisons${need > bar.minSamples ? ` (a lower bound of ${bar.minAgreementLower} needs ${need} even if all agree)` : ""}`, interval };
  if (interval!.lower < bar.minAgreementLower) return { ready: false, reason: `agreement lower bound ${interval!.lower.toFixed(3)} < ${bar.minAgreementLower}`, interval };
  return { ready: true, reason: "", interval };
}

const key = (tenant: string, useCase: string) => JSON.stringify([tenant, useCase]);

/**
 * Per tenant and use case of the policy: samples, shadow agreement with its interval, projected
 * monthly saving, readiness and the router switch's state. Pure over the fetched data.
 */
export function buildStatus(
  data: DistillData,
  policy: DistillPolicy,
  opts: { windowSeconds: number; catalog: PriceCatalog; switches: ReadonlyMap<string, DistilledSwitch>; fallbacks: ReadonlyMap<string, FallbackInfo>; tenant?: string | undefined; useCase?: string | undefined },
): UseCaseStatus[] {
  const pairs = new Map<string, { tenant: string; useCase: string }>();
  const note = (tenant: string, useCase: string) => {
    if (policy.useCases.has(useCase) && (opts.tenant === undefined || opts.tenant === tenant) && (opts.useCase === undefined || opts.useCase === useCase)) pairs.set(key(tenant, useCase), { tenant, useCase });
  };
  for (const r of data.samples) note(r.tenant, r.use_case);
  for (const r of data.shadow) note(r.tenant, r.use_case);
  for (const sw of opts.switches.values()) note(sw.tenant, sw.useCase);
  const samples = new Map(data.samples.map((r) => [key(r.tenant, r.use_case), r]));
  const shadow = new Map(data.shadow.map((r) => [key(r.tenant, r.use_case), r]));

  return [...pairs.values()]
    .sort((a, b) => (a.tenant === b.tenant ? a.useCase.localeCompare(b.useCase) : a.tenant.localeCompare(b.tenant)))
    .map(({ tenant, useCase }) => {
      const uc = policy.useCases.get(useCase)!;
      const k = key(tenant, useCase);
      const sm = samples.get(k);
      const sh = shadow.get(k);
      const decided = Number(sh?.decided_n ?? 0), agreed = Number(sh?.agreed_n ?? 0);
      const verdict = readiness(decided, agreed, uc.readiness);
      const frontierOut = Number(sh?.frontier_output_sum ?? 0), candidateOut = Number(sh?.candidate_output_sum ?? 0);
      const ratio = frontierOut > 0 ? candidateOut / frontierOut : 1;
      const volumes = data.volumes.filter((v) => v.tenant === tenant && v.use_case === useCase);
      const sw = opts.switches.get(k) ?? null;
      const fb = opts.fallbacks.get(JSON.stringify([useCase, "distilled"]));
      return {
        tenant, useCase, candidate: uc.candidate?.id ?? null,
        samples: Number(sm?.samples_n ?? 0), uniquePrompts: Number(sm?.unique_prompts_n ?? 0),
        comparisons: Number(sh?.comparisons_n ?? 0), decided, agreed, agreement: decided > 0 ? agreed / decided : null, interval: verdict.interval,
        shadowCostNanoUsd: Number(sh?.shadow_cost_sum ?? 0),
        projection: uc.candidate ? projectSaving(volumes, uc.candidate, ratio, opts.windowSeconds, opts.catalog) : null,
        bar: uc.readiness,
        ready: uc.candidate !== null && verdict.ready,
        reason: uc.candidate === null ? "no candidate model in the policy" : verdict.reason,
        enabled: uc.enabled,
        switchState: sw === null ? "off" : fb ? "fallback" : "on",
        switchedModel: sw?.model ?? null,
      };
    });
}
