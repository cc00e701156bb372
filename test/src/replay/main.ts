/**
 * `npm run replay -- --data <file>... [--n <per file>] [--seed s] [--out report.md] [--concurrency c] [--cache-calibration <labelled jsonl>]`:
 * replays public data with known right answers through the real pipeline (Kafka and every stage)
 * against a recorded-answer emulator, grades every response from the data and prints cost and
 * quality per data kind next to the naive deployment. Progress on stderr; the last stdout line is
 * the JSON summary.
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { renderReport } from "./report.ts";
import { renderTable, summaryJson } from "./render.ts";
import { runReplay } from "./run.ts";

export interface ReplayArgs {
  data: string[];
  perFile: number | undefined;
  seed: number;
  out: string | undefined;
  concurrency: number;
  /** Labelled queries to seed the cache's calibration from (a warm start), not one of the replayed files. */
  cacheCalibration: string | undefined;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export function parseReplayArgs(argv: readonly string[]): ReplayArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      data: { type: "string", multiple: true },
      n: { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      concurrency: { type: "string" },
      "cache-calibration": { type: "string" },
    },
    allowPositionals: true,
  });
  // `--data a b c` as well as `--data a --data b`.
  const data = [...(values.data ?? []), ...positionals];
  if (data.length === 0) throw new UsageError("--data <file>... is required (JSONL files in the cache_*, router_* or compress_* formats)");
  const int = (name: string, v: string | undefined, min: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${v}`);
    return n;
  };
  return {
    data,
    perFile: int("n", values.n, 1),
    seed: int("seed", values.seed, 0) ?? 1,
    out: values.out,
    concurrency: int("concurrency", values.concurrency, 1) ?? 8,
    cacheCalibration: values["cache-calibration"],
  };
}

async function main(): Promise<void> {
  const args = parseReplayArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`[replay ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  const result = await runReplay({ data: args.data, perFile: args.perFile, seed: args.seed, concurrency: args.concurrency, log, ...(args.cacheCalibration ? { cacheCalibration: args.cacheCalibration } : {}) });
  const command = `npm run replay -- --data ${args.data.join(" ")}${args.perFile ? ` --n ${args.perFile}` : ""} --seed ${args.seed}${args.cacheCalibration ? ` --cache-calibration ${args.cacheCalibration}` : ""}`;
  if (args.out) {
    writeFileSync(args.out, renderReport(result, command));
    log(`report written to ${args.out}`);
  }
  console.log(renderTable(result.total, result.byKind));
  console.log(
    `\nrun ${result.runId}: ${result.timing.wallSeconds.toFixed(0)} s in total, ${result.timing.sendSeconds.toFixed(0)} s sending; real-time latency p50 ${result.timing.latencyP50Ms} ms, p95 ${result.timing.latencyP95Ms} ms; ` +
      `${result.repeats.afterAnswer} of ${result.repeats.withEarlier} repeated intents arrived after an earlier answer.`,
  );
  console.log(summaryJson(result.total, result.byKind, { seed: args.seed, wall_seconds: Math.round(result.timing.wallSeconds) }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`replay failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
