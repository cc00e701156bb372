import Table from "cli-table3";
import type { GroupSummary } from "./aggregate.ts";

const money = (x: number) => `$${x.toFixed(4)}`;
const pct = (x: number | null) => (x === null ? "-" : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null, d = 3) => (x === null ? "-" : x.toFixed(d));
const ci = (x: [number, number] | null) => (x === null ? "-" : `[${x[0].toFixed(3)}, ${x[1].toFixed(3)}]`);

const COLUMNS = [
  "data", "use case", "requests", "errors", "naive cost", "costwise cost", "overhead", "cost cut",
  "saved: cache", "routing", "compression", "batch", "prompt cache", "naive quality", "quality", "ratio", "ratio 95% CI",
  "cache hits", "cache wrong", "batched", "strong calls", "ctx tokens removed", "answers retained",
] as const;

function cells(name: string, s: GroupSummary): string[] {
  return [
    name, s.use_case, String(s.requests), String(s.errors), money(s.naive_cost_usd), money(s.cost_usd), money(s.overhead_usd), pct(s.cost_cut),
    money(s.saving_usd.cache), money(s.saving_usd.routing), money(s.saving_usd.compression), money(s.saving_usd.batch), money(s.saving_usd.prompt_cache), num(s.naive_quality), num(s.quality), num(s.quality_ratio), ci(s.quality_ratio_ci95),
    `${s.cache_hits} (${pct(s.cache_hit_rate)})`, s.cache_hits > 0 ? `${s.cache_wrong_answers} (${pct(s.cache_wrong_answer_rate)})` : "-",
    s.batched > 0 ? `${s.batched} (${pct(s.batched / s.requests)})` : "-", pct(s.strong_call_share),
    s.context_tokens_before > 0 ? `${s.context_tokens_removed} (${pct(s.context_tokens_removed / s.context_tokens_before)})` : "-",
    s.answers_retained === null ? "-" : `${pct(s.answers_retained)} (naive ${pct(s.naive_answers_retained)})`,
  ];
}

/** The replay's table for a terminal: one row per data kind and the total, transposed so it fits. */
export function renderTable(total: GroupSummary, byKind: Record<string, GroupSummary>): string {
  const names = [...Object.keys(byKind), "total"];
  const rows = [...Object.entries(byKind).map(([k, s]) => cells(k, s)), cells("total", total)];
  const table = new Table({ head: ["", ...names], style: { head: [], border: [], compact: true } });
  COLUMNS.slice(1).forEach((col, c) => table.push([col, ...rows.map((r) => r[c + 1]!)]));
  return table.toString();
}

/** The same table in Markdown. */
export function renderMarkdown(total: GroupSummary, byKind: Record<string, GroupSummary>): string {
  const names = [...Object.keys(byKind), "total"];
  const rows = [...Object.entries(byKind).map(([k, s]) => cells(k, s)), cells("total", total)];
  const lines = [`| | ${names.map((n) => `\`${n}\``).join(" | ")} |`, `| --- |${names.map(() => " ---: |").join("")}`];
  COLUMNS.slice(1).forEach((col, c) => lines.push(`| ${col} | ${rows.map((r) => r[c + 1]!).join(" | ")} |`));
  return lines.join("\n");
}

/** The last stdout line: the summary's keys as the evaluation contract names them. */
export function summaryJson(total: GroupSummary, byKind: Record<string, GroupSummary>, extra: Record<string, unknown> = {}): string {
  const pick = (s: GroupSummary) => ({
    use_case: s.use_case,
    requests: s.requests,
    errors: s.errors,
    naive_cost_usd: round(s.naive_cost_usd, 9),
    cost_usd: round(s.cost_usd, 9),
    overhead_usd: round(s.overhead_usd, 9),
    cost_cut: s.cost_cut === null ? null : round(s.cost_cut, 4),
    saving_usd: Object.fromEntries(Object.entries(s.saving_usd).map(([k, v]) => [k, round(v, 9)])),
    naive_quality: round(s.naive_quality, 4),
    quality: round(s.quality, 4),
    quality_ratio: s.quality_ratio === null ? null : round(s.quality_ratio, 4),
    quality_ratio_ci95: s.quality_ratio_ci95?.map((x) => round(x, 4)) ?? null,
    cache_hit_rate: round(s.cache_hit_rate, 4),
    cache_wrong_answer_rate: s.cache_wrong_answer_rate === null ? null : round(s.cache_wrong_answer_rate, 4),
    batched: s.batched,
    strong_call_share: s.strong_call_share === null ? null : round(s.strong_call_share, 4),
    context_tokens_removed: s.context_tokens_removed,
    answers_retained: s.answers_retained === null ? null : round(s.answers_retained, 4),
  });
  const { use_case: _u, ...head } = pick(total);
  return JSON.stringify({ ...head, by_kind: Object.fromEntries(Object.entries(byKind).map(([k, s]) => [k, pick(s)])), ...extra });
}

const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
