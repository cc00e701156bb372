import { createHash } from "node:crypto";
import type { Embedder } from "../embedder.ts";

/**
 * A deterministic stand-in for the sentence model in unit tests: a bag of lower-cased words
 * hashed into 64 dimensions, unit length. Texts sharing most words are close; unrelated ones are not.
 * Never used outside tests: it is not a sentence embedding.
 */
export function bagOfWordsEmbedder(opts: { costNanoUsd?: number; fail?: () => boolean } = {}): Embedder & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    name: "test:bag-of-words",
    dimensions: 64,
    calls,
    async embed(texts) {
      calls.push([...texts]);
      if (opts.fail?.()) throw new Error("model crashed");
      return texts.map((t) => {
        const v = new Float32Array(64);
        for (const w of t.toLowerCase().match(/[a-z0-9]+/g) ?? []) v[createHash("md5").update(w).digest()[0]! % 64]! += 1;
        const n = Math.hypot(...v) || 1;
        return { vector: v.map((x) => x / n), costNanoUsd: opts.costNanoUsd ?? 0 };
      });
    },
  };
}
