// costwise dashboard page: fetches /api/dashboard with the chosen filters, draws KPIs, charts
// (Chart.js, served locally) and tables, and refreshes itself. Data is only ever written with
// textContent: tenant and use-case names come from callers.
"use strict";

const $ = (id) => document.getElementById(id);
const refreshMs = Number(document.body.dataset.refreshMs) || 10000;
const COLORS = { cost: "#2563eb", baseline: "#9ca3af", cache: "#059669", routing: "#7c3aed", compression: "#d97706", batch: "#0891b2", promptCache: "#db2777", bad: "#dc2626" };

const num = (s) => (s === null || s === undefined ? 0 : Number(s));
function usd(s) {
  const n = num(s);
  const abs = Math.abs(n);
  const digits = abs === 0 ? 2 : abs < 1 ? 4 : abs < 10000 ? 2 : 0;
  const text = abs.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return (n < 0 && /[1-9]/.test(text) ? "-$" : "$") + text;
}
const pct = (r) => (r === null || r === undefined ? "–" : `${(r * 100).toFixed(1)}%`);
const int = (n) => Number(n).toLocaleString("en-US");

function params() {
  const p = new URLSearchParams();
  p.set("since", $("f-since").value);
  if ($("f-tenant").value) p.set("tenant", $("f-tenant").value);
  if ($("f-use-case").value) p.set("use_case", $("f-use-case").value);
  if ($("f-exact").checked) p.set("source", "exact");
  return p;
}

function setKpi(id, text, value) {
  const el = $(id);
  el.textContent = text;
  el.dataset.value = value === null || value === undefined ? "" : String(value);
}

function fillTable(table, head, rows) {
  table.replaceChildren();
  const thead = table.createTHead().insertRow();
  for (const h of head) {
    const th = document.createElement("th");
    th.textContent = h;
    thead.appendChild(th);
  }
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const cell of r) {
      const td = tr.insertCell();
      td.textContent = cell;
      if (/^[-$\d.,%–]+$/.test(cell)) td.className = "num";
    }
  }
  if (rows.length === 0) {
    const td = body.insertRow().insertCell();
    td.colSpan = head.length;
    td.textContent = "no traffic in this window";
    td.className = "empty";
  }
}

function setOptions(select, values, label) {
  const keep = select.value;
  select.replaceChildren(new Option(label, ""));
  for (const v of values) select.appendChild(new Option(v, v));
  if (keep && !values.includes(keep)) select.appendChild(new Option(keep, keep));
  select.value = keep;
}

const charts = {};
function chart(id, config) {
  if (!charts[id]) {
    charts[id] = new Chart($(id), { ...config, options: { animation: false, responsive: true, maintainAspectRatio: false, ...config.options } });
  } else {
    charts[id].data = config.data;
    charts[id].update("none");
  }
}

function render(d) {
  const k = d.kpis;
  setKpi("kpi-spend", usd(k.spend_usd), k.spend_usd);
  $("kpi-spend-sub").textContent = `${usd(k.cost_usd)} providers + ${usd(k.overhead_usd)} costwise overhead`;
  setKpi("kpi-baseline", usd(k.baseline_usd), k.baseline_usd);
  setKpi("kpi-saved", usd(k.saved_usd), k.saved_usd);
  $("kpi-saved-sub").textContent = k.saved_ratio === null ? "" : `${pct(k.saved_ratio)} of the naive cost`;
  setKpi("kpi-calls", int(k.calls), k.calls);
  $("kpi-window").textContent = `${d.window.since.slice(0, 16).replace("T", " ")} → now (UTC)`;
  setKpi("kpi-cache", pct(k.cache_hit_rate), k.cache_hit_rate);
  setKpi("kpi-batch", pct(k.batch_share), k.batch_share);
  setKpi("kpi-compression", pct(k.compression_kept_ratio), k.compression_kept_ratio);
  $("source").textContent = d.window.source === "exact" ? "llm_calls FINAL (exact)" : "the hourly rollup calls_hourly";

  const alerts = d.budgets.filter((b) => b.level !== null);
  const box = $("alerts");
  box.replaceChildren();
  box.hidden = alerts.length === 0;
  for (const a of alerts) {
    const p = document.createElement("p");
    p.className = a.level === "EXCEEDED" ? "alert exceeded" : "alert";
    p.dataset.testid = "alert-line";
    p.textContent = `Budget ${a.level === "EXCEEDED" ? "exceeded" : "alert"}: ${a.message}`;
    box.appendChild(p);
  }

  const tenant = $("f-tenant").value;
  setOptions($("f-tenant"), d.filters.tenants, "all tenants");
  setOptions($("f-use-case"), [...new Set(d.filters.use_cases.filter((u) => !tenant || u.tenant === tenant).map((u) => u.use_case))], "all use cases");

  const points = d.trend.points;
  chart("chart-trend", {
    type: "line",
    data: {
      labels: points.map((p) => (d.trend.bucket === "hour" ? `${p.t.slice(5, 10)} ${p.t.slice(11, 16)}` : p.t)),
      datasets: [
        { label: "spend", data: points.map((p) => num(p.cost_usd) + num(p.overhead_usd)), borderColor: COLORS.cost, backgroundColor: COLORS.cost, tension: 0.2 },
        { label: "naive cost", data: points.map((p) => num(p.baseline_usd)), borderColor: COLORS.baseline, backgroundColor: COLORS.baseline, borderDash: [6, 4], tension: 0.2 },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { callback: (v) => usd(v) } } } },
  });
  const s = d.savings;
  chart("chart-savings", {
    type: "bar",
    data: { labels: ["cache", "routing", "compression", "batch", "prompt cache"], datasets: [{ label: "saved", data: [s.saving_cache_usd, s.saving_routing_usd, s.saving_compression_usd, s.saving_batch_usd, s.saving_prompt_cache_usd].map(num), backgroundColor: [COLORS.cache, COLORS.routing, COLORS.compression, COLORS.batch, COLORS.promptCache] }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { ticks: { callback: (v) => usd(v) } } } },
  });
  const ucs = d.use_cases.slice(0, 12);
  chart("chart-use-cases", {
    type: "bar",
    data: {
      labels: ucs.map((u) => (tenant ? u.use_case : `${u.tenant}/${u.use_case}`)),
      datasets: [
        { label: "cost", data: ucs.map((u) => num(u.cost_usd) + num(u.overhead_usd)), backgroundColor: COLORS.cost },
        { label: "saved", data: ucs.map((u) => num(u.saved_usd)), backgroundColor: COLORS.cache },
      ],
    },
    options: { indexAxis: "y", scales: { x: { stacked: true, ticks: { callback: (v) => usd(v) } }, y: { stacked: true } } },
  });
  const routes = d.routes.traffic;
  chart("chart-routes", {
    type: "doughnut",
    data: { labels: routes.map((r) => `${r.tier || "unrouted"} · ${r.model || "?"}`), datasets: [{ data: routes.map((r) => r.calls), backgroundColor: [COLORS.routing, COLORS.cost, COLORS.batch, COLORS.compression, COLORS.baseline, COLORS.cache] }] },
    options: { plugins: { legend: { position: "right" } } },
  });
  const cache = d.cache.slice(0, 12);
  chart("chart-cache", {
    type: "bar",
    data: { labels: cache.map((c) => (tenant ? c.use_case : `${c.tenant}/${c.use_case}`)), datasets: [{ label: "hit rate", data: cache.map((c) => (c.hit_rate ?? 0) * 100), backgroundColor: COLORS.cache }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, max: 100, ticks: { callback: (v) => `${v}%` } } } },
  });

  fillTable($("t-use-cases"), ["tenant", "use case", "calls", "cache hits", "batched", "cost", "overhead", "naive cost", "saved", "saved %"],
    d.use_cases.map((u) => [u.tenant, u.use_case, int(u.calls), pct(u.cache_hit_rate), pct(u.batch_share), usd(u.cost_usd), usd(u.overhead_usd), usd(u.baseline_usd), usd(u.saved_usd), pct(u.saved_ratio)]));
  const quality = d.routes.quality;
  const agreement = new Map(quality.available ? quality.tiers.map((q) => [q.tier, q]) : []);
  fillTable($("t-routes"), ["tier", "strategy", "model", "calls", "share", "errors", "agreement", "cost", "routing saving"],
    routes.map((r) => {
      const q = agreement.get(r.tier);
      return [r.tier || "unrouted", r.strategy || "–", r.model || "none (error)", int(r.calls), pct(r.share), int(r.errors), q ? `${pct(q.agreement)} (${int(q.samples)})` : "–", usd(r.cost_usd), usd(r.saving_usd)];
    }));
  $("route-quality-note").textContent = quality.available ? "agreement: mean agreement of the route's answers with the frontier model's in shadow (judged samples)" : `route quality unavailable: ${quality.reason}`;
  fillTable($("t-compression"), ["strategy", "calls", "tokens before", "tokens after", "kept", "saving"],
    d.compression.map((c) => [c.strategy || "uncompressed", int(c.calls), int(c.tokens_before), int(c.tokens_after), pct(c.kept_ratio), usd(c.saving_usd)]));
  const oc = d.outcomes.use_cases.slice(0, 12);
  chart("chart-outcomes", {
    type: "bar",
    data: {
      labels: oc.map((o) => (tenant ? o.use_case : `${o.tenant}/${o.use_case}`)),
      datasets: [
        { label: "cost per success", data: oc.map((o) => num(o.cost_per_success_usd)), backgroundColor: COLORS.cost },
        { label: "naive per success", data: oc.map((o) => num(o.naive_cost_per_success_usd)), backgroundColor: COLORS.baseline },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { callback: (v) => usd(v) } } } },
  });
  fillTable($("t-outcomes"), ["tenant", "use case", "judged calls", "success", "cost / success", "naive / success"],
    d.outcomes.use_cases.map((o) => [o.tenant, o.use_case, int(o.outcomes), pct(o.success_rate), o.cost_per_success_usd === null ? "–" : usd(o.cost_per_success_usd), o.naive_cost_per_success_usd === null ? "–" : usd(o.naive_cost_per_success_usd)]));
  fillTable($("t-techniques"), ["use case", "technique", "judged calls", "success", "cost / success"],
    d.outcomes.techniques.map((t) => [t.use_case, t.technique, int(t.outcomes), pct(t.success_rate), t.cost_per_success_usd === null ? "–" : usd(t.cost_per_success_usd)]));
  $("backoff-note").textContent = d.outcomes.backoffs.length ? `backed off after a quality regression: ${d.outcomes.backoffs.map((b) => `${b.use_case} ${b.technique}`).join(", ")}` : "";
  fillTable($("t-budgets"), ["budget", "month", "spent", "projected", "budget", "state"],
    d.budgets.map((b) => [b.use_case ? `${b.tenant}/${b.use_case}` : b.tenant, b.month, usd(b.spent_usd), usd(b.projected_usd), usd(b.budget_usd), b.level ? b.level.toLowerCase() : "ok"]));
}

let seq = 0;
async function refresh() {
  const my = ++seq;
  const q = params().toString();
  history.replaceState(null, "", `?${q}`);
  $("status").textContent = "updating…";
  try {
    const res = await fetch(`/api/dashboard?${q}`);
    const body = await res.json();
    if (my !== seq) return; // a newer request is on its way
    if (!res.ok) throw new Error(body.error || res.statusText);
    render(body);
    document.body.dataset.loadedQuery = q;
    $("status").textContent = `updated ${new Date().toLocaleTimeString("en-GB")}`;
    $("status").className = "";
  } catch (err) {
    if (my !== seq) return;
    $("status").textContent = `error: ${err.message}`;
    $("status").className = "error";
  }
}

// Restore filters from the address so a view can be shared.
const initial = new URLSearchParams(location.search);
if (initial.get("since")) $("f-since").value = initial.get("since");
for (const [key, id] of [["tenant", "f-tenant"], ["use_case", "f-use-case"]]) {
  const v = initial.get(key);
  if (v) {
    $(id).appendChild(new Option(v, v));
    $(id).value = v;
  }
}
$("f-exact").checked = initial.get("source") === "exact";
$("f-tenant").addEventListener("change", () => { $("f-use-case").value = ""; void refresh(); });
for (const id of ["f-since", "f-use-case", "f-exact"]) $(id).addEventListener("change", () => void refresh());
setInterval(() => { if ($("f-auto").checked && !document.hidden) void refresh(); }, refreshMs);
void refresh();
