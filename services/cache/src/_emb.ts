import { env, pipeline } from "@huggingface/transformers";
env.allowRemoteModels = false;
env.allowLocalModels = true;
const t0 = Date.now();
const embed = await pipeline("feature-extraction", "/work/main/.costwise/models/all-MiniLM-L6-v2", { dtype: "fp32" });
console.log("load ms", Date.now() - t0);
const out = await embed(["How do I reset my card PIN?", "I forgot my PIN, how can I change it?", "What is the weather in Paris?"], { pooling: "mean", normalize: true });
const v = out.tolist() as number[][];
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
console.log(v[0]!.length, dot(v[0]!, v[1]!), dot(v[0]!, v[2]!));
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  for (let i = 0; i < 50; i++) await embed(["Why was I charged 2 euros at Tesco yesterday? " + i], { pooling: "mean", normalize: true });
  console.log("single ms", (performance.now() - t) / 50);
  t = performance.now();
  const batch = Array.from({ length: 32 }, (_, i) => "Why was I charged 2 euros at Tesco yesterday? " + i);
  for (let i = 0; i < 5; i++) await embed(batch, { pooling: "mean", normalize: true });
  console.log("batch32 ms/item", (performance.now() - t) / 160);
}
