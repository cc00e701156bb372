/**
 * `npm run demo`: the whole product on this machine, with quality measured next to savings.
 * Starts the local stack if needed, runs the pipeline services, and replays the shipped samples of
 * public data with known right answers (BANKING77 support questions, GSM8K and MT-bench prompts,
 * XQuAD knowledge-base questions; test/fixtures/replay) through Kafka and every stage, then prints
 * cost and quality per use case next to the naive deployment. It is `npm run replay` on those
 * samples (test/src/replay). Then the same pipeline behind the drop-in HTTP gateway: the official
 * OpenAI and Anthropic SDKs with the local demo keys (test/src/gateway-demo.ts).
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gatewayDemo } from "./gateway-demo.ts";
import { renderTable, summaryJson } from "./replay/render.ts";
import { runReplay } from "./replay/run.ts";

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/replay");

async function main(): Promise<void> {
  const data = readdirSync(FIXTURES).filter((f) => f.endsWith(".jsonl")).sort().map((f) => path.join(FIXTURES, f));
  console.log("costwise demo: the shipped samples through the real pipeline, graded from their recorded labels\n");
  const started = Date.now();
  const r = await runReplay({ data, seed: 1, concurrency: 8, log: (line) => console.error(`  ${line}`) });
  const t = r.total;
  console.log(`\n${renderTable(t, r.byKind)}\n`);
  const pct = (x: number | null) => (x === null ? "-" : `${(x * 100).toFixed(1)}%`);
  const ci = t.quality_ratio_ci95 ? `[${t.quality_ratio_ci95[0].toFixed(3)}, ${t.quality_ratio_ci95[1].toFixed(3)}]` : "-";
  console.log(
    [
      `costwise cost ${pct(t.naive_cost_usd > 0 ? t.cost_usd / t.naive_cost_usd : null)} of the naive cost plus ${pct(t.naive_cost_usd > 0 ? t.overhead_usd / t.naive_cost_usd : null)} overhead: ` +
        `a cut of ${pct(t.cost_cut)} net of overhead, at ${t.quality_ratio?.toFixed(3) ?? "-"} of the naive quality (95% interval ${ci}).`,
      "",
      "Measured (by the real pipeline; from the cost records in ClickHouse llm_calls): which requests the cache answered and",
      "with whose answer, where the router sent each request and when the executor escalated it, how much context the",
      "compression stage removed, which requests went through a provider batch, tokens, prices, overhead and the saving",
      "per technique.",
      "From the emulator (no provider is called): the answer texts. Each is the answer recorded in the data for what the",
      "request had become: the strong or weak model's recorded answer for the model the router chose, an answer stating",
      "the question's intent, or a reader that answers only when a gold answer is still in the compressed context.",
      "Quality is therefore the data's recorded labels (GSM8K correctness, MT-bench GPT-4 judge scores, intents, gold",
      "spans), not a judgement of new text. Naive = every request on the caller's model, uncached, uncompressed.",
      "Samples are small (a few hundred rows from the dev splits): see docs/evaluation.md for the full dev replay.",
      "",
      `${r.repeats.afterAnswer} of ${r.repeats.withEarlier} repeated intents arrived after an earlier answer; ${((Date.now() - started) / 1000).toFixed(0)} s in total.`,
    ].join("\n"),
  );
  // The same pipeline behind the drop-in HTTP gateway, through the official SDKs.
  console.log("");
  await gatewayDemo((line) => console.log(line));
  console.log(summaryJson(t, r.byKind, { seed: 1 }));
}

main().catch((err: unknown) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
