import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { env, pipeline } from "@huggingface/transformers";
env.allowRemoteModels = false;
const set = process.argv[2]!;
const rows = readFileSync(`/work/shared/data/cache_${set}/dev.jsonl`, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { text: string; intent: string; is_oos: boolean });
const cacheFile = `/tmp/emb_${set}.json`;
let vecs: number[][];
if (existsSync(cacheFile)) vecs = JSON.parse(readFileSync(cacheFile, "utf8"));
else {
  const embed = await pipeline("feature-extraction", "/work/main/.costwise/models/all-MiniLM-L6-v2", { dtype: "fp32" });
  vecs = [];
  for (let i = 0; i < rows.length; i += 64) {
    const out = await embed(rows.slice(i, i + 64).map((r) => r.text), { pooling: "mean", normalize: true });
    vecs.push(...(out.tolist() as number[][]));
  }
  writeFileSync(cacheFile, JSON.stringify(vecs));
}
const dim = 384;
const flat = vecs.map((v) => Float32Array.from(v));
for (const th of [0.7, 0.75, 0.8, 0.85, 0.9, 0.95]) {
  const stored: number[] = [];
  let hits = 0, wrong = 0;
  for (let i = 0; i < rows.length; i++) {
    let best = -1, bi = -1;
    const q = flat[i]!;
    for (const j of stored) { const s = flat[j]!; let d = 0; for (let k = 0; k < dim; k++) d += q[k]! * s[k]!; if (d > best) { best = d; bi = j; } }
    if (best >= th) { hits++; if (rows[bi]!.intent !== rows[i]!.intent || rows[i]!.is_oos) wrong++; }
    else stored.push(i);
  }
  console.log(set, th, "hit%", (100 * hits / rows.length).toFixed(1), "wrong% of hits", (100 * wrong / Math.max(1, hits)).toFixed(2), "stored", stored.length);
}
