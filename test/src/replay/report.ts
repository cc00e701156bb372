import { REPLAY_POLICIES, REPLAY_SERVICE_SETTINGS, type ReplayResult } from "./run.ts";
import { USE_CASES } from "./workload.ts";
import { renderMarkdown } from "./render.ts";
import path from "node:path";
import { repoRoot } from "@costwise/infra";

/** The Markdown report of one replay (`--out`), as docs/evaluation.md's "savings at quality" section uses it. */
export function renderReport(r: ReplayResult, command: string): string {
  const t = r.total;
  const ratio = t.quality_ratio === null ? "-" : t.quality_ratio.toFixed(3);
  const ci = t.quality_ratio_ci95 ? `[${t.quality_ratio_ci95[0].toFixed(3)}, ${t.quality_ratio_ci95[1].toFixed(3)}]` : "-";
  return [
    `Command: \`${command}\` (run \`${r.runId}\`, ${r.timing.wallSeconds.toFixed(0)} s).`,
    "",
    "Mix:",
    "",
    ...r.files.map((f) => `- \`${f.dataset}\` (${f.kind}): ${f.used} of ${f.rows} rows`),
    ...(r.excluded.length ? [`- left out: ${r.excluded.length} rows whose text equals another row's with a different label`] : []),
    "",
    "Use cases (one per data kind): " +
      Object.entries(USE_CASES).map(([kind, u]) => `\`${u.useCase}\` (${kind} rows: caller asks ${u.model}, ${u.latencyClass === "BATCH" ? "BATCH, no deadline" : "real time"})`).join("; ") + ".",
    "",
    `Policies: ${Object.values(REPLAY_POLICIES).map((p) => `\`${path.relative(repoRoot, p)}\``).join(", ")}. ` +
      `Service settings: ${Object.entries(REPLAY_SERVICE_SETTINGS).map(([k, v]) => `\`${k}=${v}\``).join(", ")} (see test/src/replay/run.ts).`,
    "",
    renderMarkdown(t, r.byKind),
    "",
    `Measured through the real pipeline (Kafka, cache, router, compression, executor, batch accumulator, sink): costs and savings are the cost records in ClickHouse ` +
      `(\`llm_calls\`, naive = \`baseline_cost_nanousd\`, savings = the \`saving_*\` columns, net of \`overhead_cost_nanousd\`); ` +
      `cache hits, routes, escalations and removed context are what the stages did. From the emulator: the answer texts (recorded in the data) ` +
      `and so the grades. Real-time latency p50 ${r.timing.latencyP50Ms} ms, p95 ${r.timing.latencyP95Ms} ms; ` +
      `${r.repeats.afterAnswer} of ${r.repeats.withEarlier} repeated intents arrived after an earlier answer to the same intent.`,
    "",
    `Overall: cost cut ${t.cost_cut === null ? "-" : (t.cost_cut * 100).toFixed(1)}% net of overhead, quality ratio ${ratio} (95% CI ${ci}).`,
    "",
  ].join("\n");
}
