import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { repoRoot } from "@costwise/infra";

/**
 * Each benchmark suite runs in its own process and leaves the figures the summary line needs in
 * .costwise/bench/<suite>.json; `npm run bench` merges them into its last line (one JSON object).
 */
const DIR = path.join(repoRoot, ".costwise", "bench");

export function writeSummaryPart(suite: string, figures: Record<string, unknown>): void {
  mkdirSync(DIR, { recursive: true });
  writeFileSync(path.join(DIR, `${suite}.json`), JSON.stringify(figures) + "\n");
}

export function clearSummaryParts(): void {
  rmSync(DIR, { recursive: true, force: true });
}

/** The figures of every suite that ran, merged; `rss_mb` maps merge per service. */
export function readSummary(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let files: string[] = [];
  try {
    files = readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();
  } catch {
    return out;
  }
  for (const f of files) {
    const part = JSON.parse(readFileSync(path.join(DIR, f), "utf8")) as Record<string, unknown>;
    for (const [k, v] of Object.entries(part)) {
      if (k === "rss_mb" && typeof v === "object" && v !== null) out[k] = { ...((out[k] as object | undefined) ?? {}), ...v };
      else out[k] = v;
    }
  }
  return out;
}
