import { readFileSync } from "node:fs";
import { ScopedAnnIndex } from "./ann.ts";
import { createCacheEngine } from "./engine.ts";
import { MemoryCacheStore } from "./memory-store.ts";
import { parsePolicies } from "./policy.ts";
import { newRequest } from "@costwise/schemas";
import { normalizeText } from "./key.ts";
import { readRows, parseGuardVariant } from "./eval/run.ts";
const set = process.argv[2]!; const th = Number(process.argv[3]); const guard = parseGuardVariant(process.argv[4] ?? "all");
const rows = readRows(`/work/shared/data/cache_${set}/dev.jsonl`);
const vecs = JSON.parse(readFileSync(`/tmp/emb_${set}.json`, "utf8")) as number[][];
const byText = new Map(rows.map((r, i) => [normalizeText(r.text), Float32Array.from(vecs[i]!)]));
const store = new MemoryCacheStore();
const policies = parsePolicies({ version: 1, use_cases: { eval: { mode: "semantic", threshold: th, ttl_seconds: 86400, guard: [...guard.kinds] } } });
const engine = createCacheEngine({ store, index: new ScopedAnnIndex({ dimensions: 384 }), embedder: { name: "x", dimensions: 384, embed: async (t) => t.map((x) => ({ vector: byText.get(x)!, costNanoUsd: 0 })) }, policies, now: Date.now, candidates: Number(process.argv[5] ?? 4) });
let hits = 0, wrong = 0, refusals = 0;
const texts = new Map<string, string>();
for (const [i, row] of rows.entries()) {
  const req = newRequest({ request_id: `q${i}`, tenant: "t", use_case: "eval", temperature: 0, messages: [{ role: "user", content: row.text }] });
  const r = await engine.lookup(req);
  refusals += r.guardRefusals;
  if (r.entry) { hits++; const ok = !row.is_oos && r.entry.answer.content === row.intent; if (!ok) { wrong++; if (process.argv[6]) console.log(`WRONG sim=${r.similarity?.toFixed(3)} refusals=${r.guardRefusals} [${row.intent}] ${row.text}  <=  [${r.entry.answer.content}] ${r.entry.query}`); } }
  else { await store.putPending(engine.pendingFor(req, r)!, 1e7); await engine.learn({ request_id: req.request_id, tenant: "t", use_case: "eval", status: "OK", content: row.is_oos ? "oos:" + row.id : row.intent, error: null, error_code: null, model: null, provider: null, served_by: "REALTIME", input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, cost_usd: 0, latency_ms: 0, cache_source_request_id: null, created_at: 0 }); }
}
console.log(set, th, guard.name, "hit%", (100 * hits / rows.length).toFixed(1), "wrong%", (100 * wrong / hits).toFixed(2), "wrong", wrong, "refusals", refusals);
