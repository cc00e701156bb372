import { advise, type Advice, type Candidate, type TechniqueAdvice } from "./advise.ts";
import { formatPct, formatUsd, ratio, usdDecimal, type Nano } from "./money.ts";
import {
  modelUsage,
  overallTotals,
  trend,
  useCaseTotals,
  type QueryFn,
  type Scope,
  type Totals,
  type TrendPoint,
  type UseCaseRow,
} from "./queries.ts";
import { activeBackoffs, NO_OUTCOMES, sumOutcomes, useCaseOutcomes, type BackoffRow, type OutcomeFigures, type UseCaseOutcomes } from "./outcomes.ts";
import { renderCsv, renderJson, renderTable, toJsonRows, type Column, type Format } from "./render.ts";
import { grainWindow, type Grain } from "./source.ts";
import { costStructure, type StructureRow } from "./structure.ts";

/** The window a report covers, as it was actually read (whole hours, UTC). */
export interface WindowInfo {
  readonly since: string;
  readonly until: string;
  readonly grain: Grain;
  readonly source: Scope["mode"];
  readonly tenant: string | null;
  readonly use_case: string | null;
}

export function windowInfo(s: Scope): WindowInfo {
  const { start } = grainWindow(s.filters, s.grain);
  return { since: start.toISOString(), until: s.filters.until.toISOString(), grain: s.grain, source: s.mode, tenant: s.filters.tenant ?? null, use_case: s.filters.useCase ?? null };
}

export interface Report {
  readonly window: WindowInfo;
  readonly totals: Totals;
  readonly useCases: readonly UseCaseRow[];
  readonly structure: readonly StructureRow[];
  readonly bucket: Grain;
  readonly trend: readonly TrendPoint[];
  /** Per tenant and use case: outcomes, success rate and cost per successful outcome (calls with an outcome only). */
  readonly outcomes: readonly UseCaseOutcomes[];
  /** Techniques backed off now after a quality regression (the cache exact-only, a route on the frontier tier). */
  readonly backoffs: readonly BackoffRow[];
}

export async function buildReport(q: QueryFn, s: Scope): Promise<Report> {
  const [useCases, usage, points, totals, outcomes, backoffs] = await Promise.all([
    useCaseTotals(q, s), modelUsage(q, s), trend(q, s), overallTotals(q, s), useCaseOutcomes(q, s), activeBackoffs(q, s.database, s.filters.until, s.filters.useCase),
  ]);
  // Backoffs are per use case (every tenant): a report for one tenant shows those of its use cases.
  const mine = s.filters.tenant === undefined ? backoffs : backoffs.filter((b) => useCases.some((u) => u.useCase === b.useCase));
  return { window: windowInfo(s), totals, useCases, structure: costStructure(usage), bucket: s.grain, trend: points, outcomes, backoffs: mine };
}

const usdOrNull = (v: Nano | null) => (v === null ? null : usdDecimal(v));

/** The outcome keys a use case (or the total) gets in JSON, next to its cost figures. */
function outcomeJson(o: OutcomeFigures) {
  return {
    outcomes: o.outcomes, successes: o.successes, success_rate: o.successRate === null ? null : Number(o.successRate.toFixed(6)),
    cost_per_success_usd: usdOrNull(o.costPerSuccess), naive_cost_per_success_usd: usdOrNull(o.naiveCostPerSuccess),
  };
}

type OutcomeRow = UseCaseOutcomes;
const money4 = (v: Nano | null) => (v === null ? "-" : formatUsd(v, 4));
const OUTCOME_COLUMNS: readonly Column<OutcomeRow>[] = [
  { key: "tenant", head: "tenant", kind: "text", get: (r) => r.tenant },
  { key: "use_case", head: "use case", kind: "text", get: (r) => r.useCase },
  { key: "outcomes", head: "judged calls", kind: "int", get: (r) => r.outcomes },
  { key: "successes", head: "successes", kind: "int", get: (r) => r.successes },
  { key: "success_rate", head: "success", kind: "text", get: (r) => formatPct(r.successRate) },
  { key: "spend", head: "their cost", kind: "money", get: (r) => r.spend },
  { key: "cost_per_success", head: "cost / success", kind: "text", get: (r) => money4(r.costPerSuccess) },
  { key: "naive_cost_per_success", head: "naive / success", kind: "text", get: (r) => money4(r.naiveCostPerSuccess) },
];

const savedPct = (r: Totals) => ratio(r.saved, r.baseline);

type TotalsRow = Totals & { tenant: string; useCase: string };
const totalRow = (t: Totals): TotalsRow => ({ ...t, tenant: "total", useCase: "" });

export const USE_CASE_COLUMNS: readonly Column<TotalsRow>[] = [
  { key: "tenant", head: "tenant", kind: "text", get: (r) => r.tenant },
  { key: "use_case", head: "use case", kind: "text", get: (r) => r.useCase },
  { key: "calls", head: "calls", kind: "int", get: (r) => r.calls },
  { key: "errors", head: "errors", kind: "int", get: (r) => r.errors },
  { key: "cache_hit_rate", head: "cache hits", kind: "ratio", get: (r) => (r.calls ? r.cacheHits / r.calls : null) },
  { key: "batch_share", head: "batched", kind: "ratio", get: (r) => (r.calls - r.cacheHits ? r.batchCalls / (r.calls - r.cacheHits) : null) },
  { key: "input_tokens", head: "input tok", kind: "int", get: (r) => r.inputTokens },
  { key: "output_tokens", head: "output tok", kind: "int", get: (r) => r.outputTokens },
  { key: "cost", head: "cost", kind: "money", get: (r) => r.cost },
  { key: "overhead", head: "overhead", kind: "money", get: (r) => r.overhead },
  { key: "baseline", head: "naive cost", kind: "money", get: (r) => r.baseline },
  { key: "saved", head: "saved", kind: "money", get: (r) => r.saved },
  { key: "saved_ratio", head: "saved %", kind: "ratio", get: savedPct },
];

type StructRow = StructureRow;
export const STRUCTURE_COLUMNS: readonly Column<StructRow>[] = [
  { key: "tenant", head: "tenant", kind: "text", get: (r) => r.tenant },
  { key: "use_case", head: "use case", kind: "text", get: (r) => r.useCase },
  { key: "input", head: "input", kind: "money", get: (r) => r.inputCost },
  { key: "cached_input", head: "cached input", kind: "money", get: (r) => r.cachedInputCost },
  { key: "cache_write", head: "cache write", kind: "money", get: (r) => r.cacheWriteCost },
  { key: "output", head: "output", kind: "money", get: (r) => r.outputCost },
  { key: "unpriced", head: "unpriced", kind: "money", get: (r) => r.unpricedCost },
  { key: "overhead", head: "overhead", kind: "money", get: (r) => r.overhead },
  { key: "realtime", head: "real time", kind: "money", get: (r) => r.realtimeCost },
  { key: "batch", head: "batch", kind: "money", get: (r) => r.batchCost },
  { key: "total", head: "total", kind: "money", get: (r) => r.total },
];

type TrendRow = TrendPoint & { bucket: Grain };
export const TREND_COLUMNS: readonly Column<TrendRow>[] = [
  { key: "t", head: "from (UTC)", kind: "text", get: (r) => (r.bucket === "hour" ? new Date(r.t).toISOString().slice(0, 16).replace("T", " ") : new Date(r.t).toISOString().slice(0, 10)) },
  { key: "calls", head: "calls", kind: "int", get: (r) => r.calls },
  { key: "cost", head: "cost", kind: "money", get: (r) => r.cost },
  { key: "overhead", head: "overhead", kind: "money", get: (r) => r.overhead },
  { key: "baseline", head: "naive cost", kind: "money", get: (r) => r.baseline },
  { key: "saving_cache", head: "cache", kind: "money", get: (r) => r.savings.cache },
  { key: "saving_routing", head: "routing", kind: "money", get: (r) => r.savings.routing },
  { key: "saving_compression", head: "compression", kind: "money", get: (r) => r.savings.compression },
  { key: "saving_batch", head: "batch", kind: "money", get: (r) => r.savings.batch },
  { key: "saving_prompt_cache", head: "prompt cache", kind: "money", get: (r) => r.savings.promptCache },
];

export const SAVINGS_COLUMNS: readonly Column<TotalsRow>[] = [
  { key: "tenant", head: "tenant", kind: "text", get: (r) => r.tenant },
  { key: "use_case", head: "use case", kind: "text", get: (r) => r.useCase },
  { key: "calls", head: "calls", kind: "int", get: (r) => r.calls },
  { key: "baseline", head: "naive cost", kind: "money", get: (r) => r.baseline },
  { key: "cost", head: "cost", kind: "money", get: (r) => r.cost },
  { key: "overhead", head: "overhead", kind: "money", get: (r) => r.overhead },
  { key: "overhead_after_response", head: "of it shadow", kind: "money", get: (r) => r.overheadAfter },
  { key: "saving_cache", head: "cache", kind: "money", get: (r) => r.savings.cache },
  { key: "saving_routing", head: "routing", kind: "money", get: (r) => r.savings.routing },
  { key: "saving_compression", head: "compression", kind: "money", get: (r) => r.savings.compression },
  { key: "saving_batch", head: "batch", kind: "money", get: (r) => r.savings.batch },
  { key: "saving_prompt_cache", head: "prompt cache", kind: "money", get: (r) => r.savings.promptCache },
  { key: "saved", head: "saved", kind: "money", get: (r) => r.saved },
  { key: "saved_ratio", head: "saved %", kind: "ratio", get: savedPct },
];

function windowLine(w: WindowInfo): string {
  const scope = [w.tenant ? `tenant ${w.tenant}` : "all tenants", w.use_case ? `use case ${w.use_case}` : "all use cases"].join(", ");
  const source = w.source === "exact" ? "exact (llm_calls FINAL)" : `from the ${w.grain === "hour" ? "hourly" : "daily"} rollup`;
  return `${w.since.slice(0, 16).replace("T", " ")} to ${w.until.slice(0, 16).replace("T", " ")} UTC (whole ${w.grain}s), ${scope}, ${source}`;
}

const trendRows = (r: { bucket: Grain; trend: readonly TrendPoint[] }): TrendRow[] => r.trend.map((p) => ({ ...p, bucket: r.bucket }));
const structureTotal = (rows: readonly StructureRow[]): StructureRow => {
  const sum = (f: (r: StructureRow) => Nano) => rows.reduce((a, r) => a + f(r), 0n);
  return {
    tenant: "total", useCase: "", inputCost: sum((r) => r.inputCost), cachedInputCost: sum((r) => r.cachedInputCost), cacheWriteCost: sum((r) => r.cacheWriteCost),
    outputCost: sum((r) => r.outputCost), unpricedCost: sum((r) => r.unpricedCost), overhead: sum((r) => r.overhead), realtimeCost: sum((r) => r.realtimeCost),
    batchCost: sum((r) => r.batchCost), total: sum((r) => r.total),
  };
};

/** One row per tenant/use case for CSV: totals and structure side by side. */
type WideRow = TotalsRow & { structure: StructureRow | undefined };
const WIDE_COLUMNS: readonly Column<WideRow>[] = [
  ...USE_CASE_COLUMNS,
  ...STRUCTURE_COLUMNS.slice(2).map((c) => ({ ...c, key: `structure_${c.key}`, get: (r: WideRow) => (r.structure ? (c.get as (x: StructureRow) => Nano)(r.structure) : 0n) }) as Column<WideRow>),
];

export function renderReport(r: Report, format: Format): string {
  const rows: TotalsRow[] = [...r.useCases];
  const outcomeOf = new Map(r.outcomes.map((o) => [`${o.tenant}\u0000${o.useCase}`, o]));
  if (format === "json") {
    return renderJson({
      window: r.window,
      totals: { ...toJsonRows(USE_CASE_COLUMNS, [totalRow(r.totals)])[0], ...outcomeJson(sumOutcomes(r.outcomes)) },
      use_cases: toJsonRows(USE_CASE_COLUMNS, rows).map((j, i) => ({
        ...j, ...outcomeJson(outcomeOf.get(`${rows[i]!.tenant}\u0000${rows[i]!.useCase}`) ?? NO_OUTCOMES),
        backed_off: r.backoffs.filter((b) => b.useCase === rows[i]!.useCase).map((b) => b.technique),
      })),
      backoffs: r.backoffs.map((b) => ({ use_case: b.useCase, technique: b.technique, since: b.since, until: b.until, success_rate: b.successRate, baseline_rate: b.baselineRate, samples: b.samples, p_value: b.pValue, reason: b.reason })),
      structure: toJsonRows(STRUCTURE_COLUMNS, r.structure),
      trend: { bucket: r.bucket, points: toJsonRows(TREND_COLUMNS, trendRows(r)) },
    });
  }
  if (format === "csv") {
    const structure = new Map(r.structure.map((s) => [`${s.tenant}\u0000${s.useCase}`, s]));
    return renderCsv(WIDE_COLUMNS, rows.map((u) => ({ ...u, structure: structure.get(`${u.tenant}\u0000${u.useCase}`) })));
  }
  return [
    `costwise report: ${windowLine(r.window)}`,
    "",
    renderTable("Cost per use case", USE_CASE_COLUMNS, rows, totalRow(r.totals)),
    "",
    renderTable("Cost structure (recorded cost split by token class at catalog weights; overhead = costwise's embeddings, router, cascade and summariser calls on the cost records; shadow comparisons are in the overhead above)", STRUCTURE_COLUMNS, r.structure, structureTotal(r.structure)),
    "",
    renderTable(`Trend per ${r.bucket}`, TREND_COLUMNS, trendRows(r)),
    "",
    r.outcomes.length
      ? renderTable("Cost per successful outcome (calls with an outcome; naive = their baseline over the same successes)", OUTCOME_COLUMNS, r.outcomes, { tenant: "total", useCase: "", ...sumOutcomes(r.outcomes) })
      : "Cost per successful outcome: no outcomes in the window (produce them to llm.outcomes)",
    "",
    ...(r.backoffs.length ? ["Backed off after a quality regression:", ...r.backoffs.map((b) => `  ${b.useCase} ${b.technique} until ${b.until.slice(0, 16).replace("T", " ")} UTC: ${b.reason}`), ""] : []),
  ].join("\n");
}

export interface SavingsReport {
  readonly window: WindowInfo;
  readonly totals: Totals;
  readonly useCases: readonly UseCaseRow[];
  readonly bucket: Grain;
  readonly trend: readonly TrendPoint[];
}

export async function buildSavings(q: QueryFn, s: Scope): Promise<SavingsReport> {
  const [useCases, points, totals] = await Promise.all([useCaseTotals(q, s), trend(q, s), overallTotals(q, s)]);
  return { window: windowInfo(s), totals, useCases: [...useCases].sort((a, b) => (a.saved === b.saved ? 0 : a.saved > b.saved ? -1 : 1)), bucket: s.grain, trend: points };
}

export function renderSavings(r: SavingsReport, format: Format): string {
  const rows: TotalsRow[] = [...r.useCases];
  const t = r.totals;
  if (format === "json") {
    return renderJson({
      window: r.window,
      totals: toJsonRows(SAVINGS_COLUMNS, [totalRow(t)])[0],
      use_cases: toJsonRows(SAVINGS_COLUMNS, rows),
      trend: { bucket: r.bucket, points: toJsonRows(TREND_COLUMNS, trendRows(r)) },
    });
  }
  if (format === "csv") return renderCsv(SAVINGS_COLUMNS, rows);
  const share = (v: Nano) => (t.saved > 0n ? ` (${Math.round((Number((v * 1000n) / t.saved)) / 10)}% of the saving)` : "");
  return [
    `costwise savings: ${windowLine(r.window)}`,
    "",
    `Naive cost ${formatUsd(t.baseline)}, paid ${formatUsd(t.cost)} + ${formatUsd(t.overhead)} overhead (${formatUsd(t.overheadAfter)} of it after the response: shadow comparisons and judges): saved ${formatUsd(t.saved)}${t.baseline > 0n ? ` (${Math.round(Number((t.saved * 1000n) / t.baseline)) / 10}%)` : ""}`,
    `  cache ${formatUsd(t.savings.cache)}${share(t.savings.cache)}, routing ${formatUsd(t.savings.routing)}${share(t.savings.routing)}, compression ${formatUsd(t.savings.compression)}${share(t.savings.compression)}, batch ${formatUsd(t.savings.batch)}${share(t.savings.batch)}, prompt cache ${formatUsd(t.savings.promptCache)}${share(t.savings.promptCache)}`,
    "",
    renderTable("Savings by technique per use case (each net of what the technique itself cost)", SAVINGS_COLUMNS, rows, totalRow(t)),
    "",
    renderTable(`Savings per ${r.bucket}`, TREND_COLUMNS, trendRows(r)),
    "",
  ].join("\n");
}

export interface AdviceReport extends Advice {
  readonly window: WindowInfo;
}

export async function buildAdvice(q: QueryFn, s: Scope): Promise<AdviceReport> {
  const [useCases, usage] = await Promise.all([useCaseTotals(q, s), modelUsage(q, s)]);
  const { start } = grainWindow(s.filters, s.grain);
  const seconds = (s.filters.until.getTime() - start.getTime()) / 1000;
  return { window: windowInfo(s), ...advise({ windowSeconds: seconds, useCases, usage, structure: costStructure(usage) }) };
}

type CandidateRow = Candidate & { technique: string; recommendedNow: boolean };
const CANDIDATE_COLUMNS: readonly Column<CandidateRow>[] = [
  { key: "technique", head: "technique", kind: "text", get: (r) => r.technique },
  { key: "recommended_now", head: "now?", kind: "text", get: (r) => (r.recommendedNow ? "yes" : "later") },
  { key: "tenant", head: "tenant", kind: "text", get: (r) => r.tenant },
  { key: "use_case", head: "use case", kind: "text", get: (r) => r.useCase },
  { key: "monthly", head: "works on / month", kind: "text", get: (r) => (r.unit === "calls" ? `${Number(r.monthly).toLocaleString("en-US")} calls` : formatUsd(r.monthly)) },
  { key: "unit", head: "unit", kind: "text", get: (r) => r.unit },
  { key: "why", head: "what", kind: "text", get: (r) => r.why },
];

const candidateRows = (techniques: readonly TechniqueAdvice[]): CandidateRow[] =>
  techniques.flatMap((t) => t.candidates.map((c) => ({ ...c, technique: t.technique, recommendedNow: t.recommendedNow })));

export function renderAdvice(a: AdviceReport, format: Format): string {
  if (format === "json") {
    return renderJson({
      window: a.window,
      monthly_run_rate_usd: formatUsd(a.monthlyRunRate, 2).replace(/[$,]/g, ""),
      monthly_run_rate_nanousd: a.monthlyRunRate.toString(),
      monthly_calls: a.monthlyCalls,
      band: { id: a.band.id, label: a.band.label, advice: a.band.advice, techniques: a.band.techniques },
      techniques: a.techniques.map((t) => ({
        technique: t.technique,
        recommended_now: t.recommendedNow,
        candidates: t.candidates.map((c) => ({ tenant: c.tenant, use_case: c.useCase, monthly: c.monthly.toString(), unit: c.unit, why: c.why })),
      })),
      distillation: a.distillation.map((d) => ({ tenant: d.tenant, use_case: d.useCase, monthly_calls: d.monthlyCalls, level: d.level })),
    });
  }
  const rows = candidateRows(a.techniques).map((c) => ({ ...c, monthly: c.monthly }));
  if (format === "csv") {
    const csvCols: Column<CandidateRow>[] = CANDIDATE_COLUMNS.map((c) => (c.key === "monthly" ? { key: "monthly", head: "monthly", kind: "text", get: (r: CandidateRow) => r.monthly.toString() } : c));
    return renderCsv(csvCols, rows);
  }
  const distill = a.distillation.length
    ? a.distillation.map((d) => `  ${d.tenant}/${d.useCase}: ${d.monthlyCalls.toLocaleString("en-US")} calls/month (distillation ${d.level === "dominates" ? "dominates: above 1M calls/month" : "pays back: above ~100k calls/month"})`).join("\n")
    : "  none: no use case reaches ~100k calls/month";
  return [
    `costwise advise: ${windowLine(a.window)}`,
    "",
    `Monthly run-rate: ${formatUsd(a.monthlyRunRate)} (${a.monthlyCalls.toLocaleString("en-US")} calls), band ${a.band.label}`,
    `Next: ${a.band.advice}`,
    "",
    renderTable("Where each technique would pay most (monthly figures at the window's rate)", CANDIDATE_COLUMNS.filter((c) => c.key !== "unit"), rows),
    "",
    "Distillation candidates:",
    distill,
    "",
  ].join("\n");
}

