import { formatPct, formatUsd, ratio, type Nano } from "../money.ts";
import type { Review } from "./build.ts";

/** A table as both renderings need it: header cells and rows of text cells. */
interface Table {
  readonly title: string;
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly note?: string;
}

const usd = (v: Nano | null, digits = 4) => (v === null ? "-" : formatUsd(v, digits));
const int = (n: number) => n.toLocaleString("en-US");
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

interface Kpi { readonly id: string; readonly label: string; readonly value: string }

function kpis(r: Review): Kpi[] {
  const t = r.report.totals;
  const o = r.report.outcomes.reduce((a, x) => ({ n: a.n + x.outcomes, ok: a.ok + x.successes, spend: a.spend + x.spend, base: a.base + x.baseline }), { n: 0, ok: 0, spend: 0n, base: 0n });
  return [
    { id: "spend", label: "spend (cost + overhead)", value: formatUsd(t.cost + t.overhead) },
    { id: "naive", label: "naive cost (no costwise)", value: formatUsd(t.baseline) },
    { id: "saved", label: "saved, net", value: `${formatUsd(t.saved)} (${formatPct(ratio(t.saved, t.baseline))})` },
    { id: "cost-per-success", label: "cost per successful outcome", value: o.ok ? usd(o.spend / BigInt(o.ok)) : "-" },
    { id: "naive-per-success", label: "naive cost per success", value: o.ok ? usd(o.base / BigInt(o.ok)) : "-" },
    { id: "success-rate", label: "success rate (judged calls)", value: o.n ? `${formatPct(o.ok / o.n)} of ${int(o.n)}` : "no outcomes" },
    { id: "band", label: "spend band (monthly run-rate)", value: `${r.advice.band.label} (${formatUsd(r.advice.monthlyRunRate)}/month)` },
  ];
}

function structureTable(r: Review): Table {
  const s = r.report.structure;
  const sum = (f: (x: (typeof s)[number]) => Nano) => s.reduce((a, x) => a + f(x), 0n);
  const lines: [string, Nano][] = [
    ["input (context and prompt)", sum((x) => x.inputCost)], ["cached input", sum((x) => x.cachedInputCost)], ["cache writes", sum((x) => x.cacheWriteCost)],
    ["output", sum((x) => x.outputCost)], ["unpriced models", sum((x) => x.unpricedCost)],
    ["costwise overhead (embeddings, router, summaries, shadow calls and judges)", r.report.totals.overhead],
  ];
  const total = lines.reduce((a, [, v]) => a + v, 0n);
  return {
    title: "Cost structure",
    head: ["class", "cost", "share"],
    rows: [...lines.map(([k, v]) => [k, usd(v), formatPct(ratio(v, total))]), ["total", usd(total), formatPct(total > 0n ? 1 : null)]],
    note: "Recorded cost split by token class at catalog weights. Infrastructure (Kafka, Redis, ClickHouse, the services) is not metered by costwise: add its share from your own bills.",
  };
}

function tables(r: Review): Table[] {
  const s = r.report.structure;
  const sum = (f: (x: (typeof s)[number]) => Nano) => s.reduce((a, x) => a + f(x), 0n);
  const byCost = [...r.report.useCases].sort((a, b) => (a.cost + a.overhead === b.cost + b.overhead ? 0 : a.cost + a.overhead > b.cost + b.overhead ? -1 : 1));
  const quality = r.routeQuality.available ? new Map(r.routeQuality.rows.map((x) => [x.tier, x])) : new Map();
  const routeSuccess = new Map<string, { n: number; ok: number }>();
  for (const t of r.techniques.filter((x) => x.technique.startsWith("route:"))) {
    const tier = t.technique.slice("route:".length);
    const cur = routeSuccess.get(tier) ?? { n: 0, ok: 0 };
    routeSuccess.set(tier, { n: cur.n + t.outcomes, ok: cur.ok + t.successes });
  }
  const now = r.advice.techniques.filter((t) => t.recommendedNow).flatMap((t) => t.candidates.slice(0, 3).map((c) => [t.technique, `${c.tenant}/${c.useCase}`, c.unit === "calls" ? `${int(Number(c.monthly))} calls/month` : `${formatUsd(c.monthly)}/month`, c.why]));
  return [
    structureTable(r),
    {
      title: "Cost per successful outcome per use case",
      head: ["tenant", "use case", "judged calls", "success", "cost / success", "naive / success", "backed off"],
      rows: r.report.outcomes.map((o) => [o.tenant, o.useCase, int(o.outcomes), formatPct(o.successRate), usd(o.costPerSuccess), usd(o.naiveCostPerSuccess), r.report.backoffs.filter((b) => b.useCase === o.useCase).map((b) => b.technique).join(", ") || "-"]),
      note: "Calls with an outcome only (latest per source; user beats task beats judge). Naive: the baseline cost of the same calls over the same successes.",
    },
    {
      title: "Success by technique",
      head: ["use case", "technique", "judged calls", "success", "cost / success"],
      rows: r.techniques.map((t) => [t.useCase, t.technique, int(t.outcomes), formatPct(t.successRate), usd(t.costPerSuccess)]),
    },
    {
      title: "Cache hit rates",
      head: ["tenant", "use case", "requests", "exact hits", "semantic hits", "hit rate", "net saving"],
      rows: r.cache.map((c) => [c.tenant, c.useCase, int(c.requests), int(c.exactHits), int(c.semanticHits), formatPct(c.hitRate), usd(c.saving)]),
    },
    {
      title: "Routes and their measured quality",
      head: ["tier", "strategy", "model", "calls", "share", "shadow agreement", "outcome success", "routing saving"],
      rows: r.routes.map((x) => {
        const q = quality.get(x.tier);
        const o = routeSuccess.get(x.tier);
        return [x.tier || "(not routed)", x.strategy || "-", x.model || "-", int(x.calls), formatPct(x.share), q && q.agreedRate !== null ? `${formatPct(q.agreedRate)} of ${int(q.samples)}` : "-", o && o.n ? `${formatPct(o.ok / o.n)} of ${int(o.n)}` : "-", usd(x.saving)];
      }),
      note: r.routeQuality.available ? "Shadow agreement: the judge's verdicts on sampled cheap answers against the frontier's. Outcome success: users', checks' and judges' outcomes." : `Shadow quality unavailable: ${r.routeQuality.reason}.`,
    },
    {
      title: "Compression per use case",
      head: ["tenant", "use case", "calls", "context tokens in", "out", "kept", "saving"],
      rows: r.compression.map((c) => [c.tenant, c.useCase, int(c.calls), int(c.tokensBefore), int(c.tokensAfter), formatPct(c.tokensBefore ? c.tokensAfter / c.tokensBefore : null), usd(c.saving)]),
    },
    {
      title: "Backed off after a quality regression",
      head: ["use case", "technique", "success", "baseline", "until", "why"],
      rows: r.report.backoffs.map((b) => [b.useCase, b.technique, formatPct(b.successRate), formatPct(b.baselineRate), b.until.slice(0, 16).replace("T", " "), b.reason]),
    },
    {
      title: `Next quarter (${r.next.label}): candidates`,
      head: ["what", "where", "works on", "why"],
      rows: [
        ...byCost.slice(0, 3).map((u) => ["top cost driver", `${u.tenant}/${u.useCase}`, `${formatUsd(u.cost + u.overhead)} this quarter`, `${int(u.calls)} calls, ${formatPct(u.calls ? u.cacheHits / u.calls : null)} from the cache`]),
        ...now,
        ...r.advice.distillation.map((d) => ["distillation", `${d.tenant}/${d.useCase}`, `${int(d.monthlyCalls)} calls/month`, d.level === "dominates" ? "above 1M calls/month: distillation dominates" : "above ~100k calls/month: distillation pays back"]),
      ],
      note: `Spend band ${r.advice.band.label}: ${r.advice.band.advice}`,
    },
  ];
}

/** Horizontal bars, one per item, labelled with their value. */
function barChart(id: string, title: string, items: readonly { label: string; value: number; text: string }[]): string {
  const w = 700, row = 26, left = 250, h = 30 + items.length * row;
  const max = Math.max(1e-12, ...items.map((i) => i.value));
  const bars = items.map((it, k) => {
    const y = 24 + k * row;
    const bw = Math.max(1, ((w - left - 120) * it.value) / max);
    return `<text x="${left - 8}" y="${y + 14}" text-anchor="end" font-size="12">${esc(it.label.length > 34 ? `…${it.label.slice(-33)}` : it.label)}</text><rect x="${left}" y="${y}" width="${bw.toFixed(1)}" height="18" fill="#3b6ea8"/><text x="${(left + bw + 6).toFixed(1)}" y="${y + 14}" font-size="12">${esc(it.text)}</text>`;
  });
  return `<svg data-testid="chart-${id}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><text x="0" y="14" font-size="13" font-weight="bold">${esc(title)}</text>${bars.join("")}${items.length ? "" : `<text x="${left}" y="40" font-size="12">no data</text>`}</svg>`;
}

/** Two lines over weeks: cost per success and its naive counterpart. */
function trendChart(r: Review): string {
  const pts = r.weeks.filter((w) => w.costPerSuccess !== null);
  const w = 640, h = 240, l = 70, b = 40, t = 30;
  const max = Math.max(1, ...pts.flatMap((p) => [Number(p.costPerSuccess), Number(p.naiveCostPerSuccess)]));
  const x = (i: number) => l + (pts.length <= 1 ? (w - l - 20) / 2 : (i * (w - l - 20)) / (pts.length - 1));
  const y = (v: number) => h - b - ((h - b - t) * v) / max;
  const line = (f: (p: (typeof pts)[number]) => number, color: string, name: string) =>
    `<polyline data-series="${name}" fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p, i) => `${x(i).toFixed(1)},${y(f(p)).toFixed(1)}`).join(" ")}"/>` +
    pts.map((p, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(f(p)).toFixed(1)}" r="3" fill="${color}"/>`).join("");
  const labels = pts.map((p, i) => `<text x="${x(i).toFixed(1)}" y="${h - b + 16}" text-anchor="middle" font-size="11">${esc(p.week.slice(5))}</text>`).join("");
  const axis = `<line x1="${l}" y1="${h - b}" x2="${w - 10}" y2="${h - b}" stroke="#888"/><text x="${l - 6}" y="${y(max) + 4}" text-anchor="end" font-size="11">${esc(formatUsd(BigInt(Math.round(max)), 4))}</text><text x="${l - 6}" y="${h - b}" text-anchor="end" font-size="11">$0</text>`;
  const legend = `<rect x="${l}" y="${h - 14}" width="12" height="4" fill="#3b6ea8"/><text x="${l + 16}" y="${h - 9}" font-size="11">cost per successful outcome</text><rect x="${l + 210}" y="${h - 14}" width="12" height="4" fill="#c0504d"/><text x="${l + 226}" y="${h - 9}" font-size="11">naive (no costwise)</text>`;
  return `<svg data-testid="chart-trend" role="img" aria-label="cost per successful outcome per week" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><text x="0" y="14" font-size="13" font-weight="bold">Cost per successful outcome per week, against the baseline</text>${axis}${pts.length ? line((p) => Number(p.naiveCostPerSuccess), "#c0504d", "naive") + line((p) => Number(p.costPerSuccess), "#3b6ea8", "costwise") : `<text x="${l + 10}" y="${h / 2}" font-size="12">no outcomes yet this quarter</text>`}${labels}${legend}</svg>`;
}

function heading(r: Review): { title: string; period: string } {
  const scope = r.report.window.tenant ? `tenant ${r.report.window.tenant}` : "all tenants";
  const until = r.complete ? r.quarter.end : r.until;
  return {
    title: `costwise quarterly review ${r.quarter.label}`,
    period: `${r.quarter.start.toISOString().slice(0, 10)} to ${until.toISOString().slice(0, 16).replace("T", " ")} UTC${r.complete ? "" : " (quarter in progress)"}, ${scope}; generated ${r.generatedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`,
  };
}

/** A self-contained page: inline CSS and SVG, no scripts, no network. */
export function renderReviewHtml(r: Review): string {
  const { title, period } = heading(r);
  const s = r.report.structure;
  const sum = (f: (x: (typeof s)[number]) => Nano) => Number(s.reduce((a, x) => a + f(x), 0n));
  const structureChart = barChart("structure", "Where the money went", [
    ["input", sum((x) => x.inputCost)], ["cached input", sum((x) => x.cachedInputCost)], ["cache writes", sum((x) => x.cacheWriteCost)],
    ["output", sum((x) => x.outputCost)], ["unpriced", sum((x) => x.unpricedCost)], ["costwise overhead", Number(r.report.totals.overhead)],
  ].map(([label, v]) => ({ label: label as string, value: v as number, text: formatUsd(BigInt(v as number), 4) })));
  const hitChart = barChart("hit-rates", "Cache hit rate per use case", r.cache.map((c) => ({ label: r.report.window.tenant ? c.useCase : `${c.tenant}/${c.useCase}`, value: c.hitRate ?? 0, text: formatPct(c.hitRate) })));
  const successChart = barChart("success", "Success rate by technique", r.techniques.map((t) => ({ label: `${t.useCase} ${t.technique}`, value: t.successRate ?? 0, text: `${formatPct(t.successRate)} of ${int(t.outcomes)}` })));
  const tableHtml = (t: Table, id: string) =>
    `<section><h2>${esc(t.title)}</h2><table data-testid="table-${id}"><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${t.rows.length ? t.rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("") : `<tr><td colspan="${t.head.length}">none</td></tr>`}</tbody></table>${t.note ? `<p class="note">${esc(t.note)}</p>` : ""}</section>`;
  const ids = ["structure", "outcomes", "techniques", "cache", "routes", "compression", "backoffs", "next"];
  const ts = tables(r);
  const charts: Record<string, string> = { structure: structureChart, outcomes: trendChart(r), techniques: successChart, cache: hitChart };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#1d2733;line-height:1.35}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dee6;padding-bottom:4px}
.period{color:#5a6776;margin:0 0 16px}.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:10px}
.kpi{border:1px solid #d8dee6;border-radius:6px;padding:8px 10px}.kpi .v{font-size:18px;font-weight:600}.kpi .l{font-size:12px;color:#5a6776}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e6eaef;padding:4px 8px;text-align:left}th{background:#f3f6f9}
td:not(:first-child){font-variant-numeric:tabular-nums}.note{font-size:12px;color:#5a6776}svg{display:block;margin:8px 0}
</style></head><body>
<h1>${esc(title)}</h1><p class="period">${esc(period)}</p>
<div class="kpis">${kpis(r).map((k) => `<div class="kpi" data-testid="kpi-${k.id}"><div class="v">${esc(k.value)}</div><div class="l">${esc(k.label)}</div></div>`).join("")}</div>
${ts.map((t, i) => `${charts[ids[i]!] ?? ""}${tableHtml(t, ids[i]!)}`).join("\n")}
</body></html>
`;
}

/** The same review as Markdown (for pull requests): the tables and the weekly trend, no charts. */
export function renderReviewMarkdown(r: Review): string {
  const { title, period } = heading(r);
  const cell = (c: string) => c.replace(/\|/g, "\\|");
  const md = (t: Table) => [`## ${t.title}`, "", `| ${t.head.map(cell).join(" | ")} |`, `|${t.head.map(() => " --- ").join("|")}|`, ...(t.rows.length ? t.rows.map((row) => `| ${row.map(cell).join(" | ")} |`) : [`| none${" |".repeat(t.head.length)}`]), ...(t.note ? ["", `_${t.note}_`] : []), ""].join("\n");
  const ts = tables(r);
  const trend: Table = { title: "Cost per successful outcome per week", head: ["week", "judged calls", "successes", "cost / success", "naive / success"], rows: r.weeks.map((w) => [w.week, int(w.outcomes), int(w.successes), usd(w.costPerSuccess), usd(w.naiveCostPerSuccess)]) };
  return [`# ${title}`, "", period, "", ...kpis(r).map((k) => `- **${k.label}**: ${k.value}`), "", md(ts[0]!), md(ts[1]!), md(trend), ...ts.slice(2).map(md)].join("\n");
}
