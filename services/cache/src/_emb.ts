import { localEmbedder } from "./embedding.ts";
for (const threads of [1, 2]) {
  const e = await localEmbedder({ modelDir: "/work/main/.costwise/models/all-MiniLM-L6-v2", threads });
  const ts: number[] = [];
  for (let i = 0; i < 60; i++) { const t = performance.now(); await e.embed([`Why was I charged 2 euros at Tesco yesterday? ${i}`]); ts.push(performance.now() - t); }
  ts.sort((a, b) => a - b);
  console.log("threads", threads, "p50", ts[30]!.toFixed(2), "p90", ts[54]!.toFixed(2));
  await e.close?.();
}
