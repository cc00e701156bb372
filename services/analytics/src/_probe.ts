import { createClient } from "@clickhouse/client";
import { migrate } from "@costwise/infra";
import { generateCallsSql } from "./bench/generate.ts";
const c = createClient({ url: "http://127.0.0.1:18123", request_timeout: 600_000 });
await c.command({ query: "DROP DATABASE IF EXISTS costwise_bench" });
await migrate(c, { database: "costwise_bench" });
const N = Number(process.argv[2] ?? 1000);
const chunk = 2_000_000;
const t0 = Date.now();
for (let off = 0; off < N; off += chunk) {
  await c.command({ query: generateCallsSql({ database: "costwise_bench", rows: Math.min(chunk, N - off), offset: off, end: new Date(), spanSeconds: 28 * 86400, tenants: ["acme", "globex", "initech", "umbrella", "hooli"], useCases: 20 }) });
}
console.log("generated", N, "in", Date.now() - t0, "ms");
await c.close();
