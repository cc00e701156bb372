import { ScopedAnnIndex } from "./ann.ts";
const DIM = 384;
const rnd = () => { const v = new Float32Array(DIM); for (let i = 0; i < DIM; i++) v[i] = Math.random() - 0.5; const n = Math.hypot(...v); return v.map((x) => x / n); };
const scopes = Number(process.argv[2]); const N = Number(process.argv[3]);
const before = process.memoryUsage().rss;
const t = performance.now();
const idx = new ScopedAnnIndex({ dimensions: DIM });
for (let i = 0; i < N; i++) idx.add(`s${i % scopes}`, { ref: `r${i}`, tenant: "t", useCase: "u", expiresAt: 1e13 }, rnd());
console.log({ scopes, N, ms: Math.round(performance.now() - t), rssMB: Math.round((process.memoryUsage().rss - before) / 1e6) });
