import { existsSync, readFileSync, writeFileSync } from "node:fs";
import Table from "cli-table3";
import { sampleCurve, type SetResult, type StrategyResult } from "./evaluate.ts";

export const CURVE_SHARES = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

const pct = (x: number | null) => (x === null ? "never" : `${(x * 100).toFixed(1)}%`);
const q3 = (x: number, scoreType: string) => (scoreType === "binary_correct" ? `${(x * 100).toFixed(1)}%` : x.toFixed(2));
const spreadText = (r: StrategyResult) =>
  r.spread
    ? `over ${r.spread.seeds} fold seeds: APGR ${r.spread.apgr ? `${r.spread.apgr.min.toFixed(3)}–${r.spread.apgr.max.toFixed(3)} (mean ${r.spread.apgr.mean.toFixed(3)})` : "n/a"}, strong calls at 95% ${r.spread.strongShareAt95 ? `${pct(r.spread.strongShareAt95.min)}–${pct(r.spread.strongShareAt95.max)} (mean ${pct(r.spread.strongShareAt95.mean)})` : "n/a"}`
    : "";
const apgrText = (x: number | null) => (x === null ? "n/a" : x.toFixed(3));
const cptText = (x: number | null, gap: boolean) => (gap ? pct(x) : "n/a");

function metricRows(res: SetResult): string[][] {
  const all = [res.random, res.oracle, ...res.strategies];
  const gap = res.quality.strong > res.quality.weak;
  return all.map((r) => [r.name, apgrText(r.metrics.apgr), cptText(r.metrics.cpt50, gap), cptText(r.metrics.cpt80, gap), pct(r.metrics.strongShareAt95), pct(r.metrics.cheapShareAt95)]);
}

const METRIC_HEAD = ["router", "APGR", "CPT(50%)", "CPT(80%)", "strong calls at 95% quality", "cheap-tier share at 95%"];

/** Relative cost of a strong-call share, at the price ratio of the cheap and the strong model. */
const relCost = (share: number, ratio: number) => share + (1 - share) * ratio;

function curveRows(res: SetResult, ratio: number): { head: string[]; rows: string[][] } {
  const all = [res.random, res.oracle, ...res.strategies];
  const sampled = all.map((r) => sampleCurve(r.curve, CURVE_SHARES));
  return {
    head: ["strong calls", "relative cost", ...all.map((r) => r.name)],
    rows: CURVE_SHARES.map((s, i) => [pct(s), `${(relCost(s, ratio) * 100).toFixed(0)}%`, ...sampled.map((c) => q3(c[i]!, res.set.scoreType))]),
  };
}

function header(res: SetResult): string {
  const noGap = res.quality.strong > res.quality.weak ? "" : " — the weak model is at least as good as the strong one here, so APGR and CPT are undefined (n/a): every call can go to the cheap tier";
  const dropped = res.set.dropped.contaminated + res.set.dropped.unscored > 0 ? ` (dropped: ${res.set.dropped.contaminated} contaminated, ${res.set.dropped.unscored} unscored)` : "";
  return `${res.set.name}: ${res.rows} rows in ${res.groups} groups${dropped}; strong ${res.set.strongModel} = ${q3(res.quality.strong, res.set.scoreType)}, weak ${res.set.weakModel} = ${q3(res.quality.weak, res.set.scoreType)} (${res.set.scoreType})${noGap}`;
}

export function renderConsole(res: SetResult, priceRatio: number): string {
  const out: string[] = [header(res)];
  const t = new Table({ head: METRIC_HEAD, style: { head: [], border: [] } });
  t.push(...metricRows(res));
  out.push(t.toString());
  for (const r of res.strategies) if (r.spread || r.note) out.push(`  ${r.name}: ${[spreadText(r), r.note ?? ""].filter(Boolean).join("; ")}`);
  if (res.cascade) out.push(`  ${res.cascade.name}: escalated ${res.cascade.point.escalated}/${res.cascade.point.rows} (${pct(res.cascade.point.point.strongShare)} strong calls, every row also pays a weak call) → quality ${q3(res.cascade.point.point.quality, res.set.scoreType)}, PGR ${res.cascade.pgr.toFixed(3)} (random at that share: ${res.cascade.point.point.strongShare.toFixed(3)})`);
  const c = curveRows(res, priceRatio);
  const ct = new Table({ head: c.head, style: { head: [], border: [] } });
  ct.push(...c.rows);
  out.push(`cost–quality curve (quality by share of strong calls; relative cost at a cheap/strong price ratio of ${priceRatio.toFixed(3)}):`);
  out.push(ct.toString());
  return out.join("\n");
}

const mdTable = (head: string[], rows: string[][]) => [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

export function renderMarkdown(res: SetResult, priceRatio: number): string {
  const out: string[] = [`### ${res.set.name}`, "", header(res).replace(/^[^:]+: /, ""), "", mdTable(METRIC_HEAD, metricRows(res)), ""];
  for (const r of res.strategies) if (r.spread || r.note) out.push(`- **${r.name}**: ${[spreadText(r), r.note ?? ""].filter(Boolean).join("; ")}`);
  if (res.cascade) out.push(`- **${res.cascade.name}**: escalated ${res.cascade.point.escalated} of ${res.cascade.point.rows} (${pct(res.cascade.point.point.strongShare)} strong calls; every request also pays the weak call) → quality ${q3(res.cascade.point.point.quality, res.set.scoreType)}, PGR ${res.cascade.pgr.toFixed(3)} where a random router gets ${res.cascade.point.point.strongShare.toFixed(3)}`);
  const c = curveRows(res, priceRatio);
  out.push("", `Cost–quality curve (quality at each share of strong calls; relative cost = share + (1 − share) × ${priceRatio.toFixed(3)}, the gpt-4o-mini/gpt-4o price ratio of a 1000-in/250-out call):`, "", mdTable(c.head, c.rows), "");
  return out.join("\n");
}

export const GENERATED_START = "<!-- eval:router generated:start -->";
export const GENERATED_END = "<!-- eval:router generated:end -->";

/** The markers of a generated block: the default one, or a named one (`<!-- eval:router:<name> generated:start -->`). */
export function generatedMarkers(name?: string): { start: string; end: string } {
  if (!name) return { start: GENERATED_START, end: GENERATED_END };
  if (!/^[a-z0-9-]+$/.test(name)) throw new RangeError(`block name "${name}": lower-case letters, digits and '-' only`);
  return { start: `<!-- eval:router:${name} generated:start -->`, end: `<!-- eval:router:${name} generated:end -->` };
}

/** Replace the generated block of a Markdown file (or create the file), keeping hand-written text around it. */
export function writeGeneratedBlock(file: string, body: string, name?: string): void {
  const { start, end } = generatedMarkers(name);
  const block = `${start}\n${body.trim()}\n${end}`;
  if (!existsSync(file)) {
    writeFileSync(file, `# Router evaluation\n\n${block}\n`);
    return;
  }
  const text = readFileSync(file, "utf8");
  const a = text.indexOf(start), b = text.indexOf(end);
  writeFileSync(file, a >= 0 && b > a ? `${text.slice(0, a)}${block}${text.slice(b + end.length)}` : `${text.trimEnd()}\n\n${block}\n`);
}
