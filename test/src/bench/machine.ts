import { readFileSync } from "node:fs";
import { localEmbedder } from "@costwise/embeddings";

/**
 * How fast this machine's CPU runs at the moment, as the time of a fixed single-thread JavaScript
 * loop (median of `runs`). A shared host's speed changes from hour to hour; printed beside the
 * figures, it tells whether two runs met the same machine.
 */
export function cpuProbeMs(runs = 3, iterations = 300_000_000): number {
  const times: number[] = [];
  let sink = 0;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    let x = 0;
    for (let i = 0; i < iterations; i++) x += i % 7;
    times.push(performance.now() - t);
    sink += x;
  }
  // Keeps the loop's result alive so that it cannot be optimised away.
  if (sink < 0) throw new Error("unreachable");
  return Math.round(times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!);
}

/**
 * Queries per second the cache's default embedding model runs one at a time on one thread, on
 * the shipped banking77 sample: the figure that bounds semantic lookups, measured before the
 * services start, so a run on a slow hour says so.
 */
export async function modelProbeQps(modelDir: string, n = 300): Promise<number> {
  const texts = readFileSync(new URL("../../fixtures/banking77-sample.jsonl", import.meta.url), "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const model = await localEmbedder({ modelDir });
  try {
    await model.embed(texts.slice(0, 10));
    const t = performance.now();
    for (let i = 0; i < n; i++) await model.embed([texts[i % texts.length]!]);
    return Math.round(n / ((performance.now() - t) / 1000));
  } finally {
    await model.close?.();
  }
}
