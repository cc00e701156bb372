import { readFileSync } from "node:fs";
import { newRequest, type LlmRequest } from "@costwise/schemas";
import { z } from "zod";
import { ScopedAnnIndex } from "../ann.ts";
import type { Embedder } from "@costwise/embeddings";
import { createCacheEngine } from "../engine.ts";
import { SALIENT_KINDS, type SalientKind } from "../guard.ts";
import { canonicalize } from "../key.ts";
import { parsePolicies } from "../policy.ts";
import type { CacheStore } from "../store.ts";

/** One row of a cache dev set (`../shared/data/cache_<set>/dev.jsonl`; fields beyond these are ignored). */
export const cacheRowSchema = z.object({ id: z.string(), text: z.string().min(1), intent: z.string(), is_oos: z.boolean().default(false) });
export type CacheRow = z.infer<typeof cacheRowSchema>;

export function readRows(file: string): CacheRow[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((line, i) => {
      const parsed = cacheRowSchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${file}:${i + 1}: not a cache row: ${parsed.error.issues.map((x) => x.path.join(".")).join(", ")}`);
      return parsed.data;
    });
}

/** A guard setting under evaluation: a name for the table and the kinds it checks. */
export interface GuardVariant {
  readonly name: string;
  readonly kinds: readonly SalientKind[];
}

/** "all", "none", "number,id,..." or "all,-negation" (all kinds but the ones named with a minus). */
export function parseGuardVariant(spec: string): GuardVariant {
  const parts = spec.split(",").map((s) => s.trim()).filter(Boolean);
  if (parts.length === 1 && parts[0] === "none") return { name: "none", kinds: [] };
  const kinds = new Set<SalientKind>();
  for (const p of parts) {
    if (p === "all") SALIENT_KINDS.forEach((k) => kinds.add(k));
    else if (p.startsWith("-") && (SALIENT_KINDS as readonly string[]).includes(p.slice(1))) kinds.delete(p.slice(1) as SalientKind);
    else if ((SALIENT_KINDS as readonly string[]).includes(p)) kinds.add(p as SalientKind);
    else throw new Error(`unknown guard kind '${p}' (kinds: ${SALIENT_KINDS.join(", ")}; or all, none, -kind)`);
  }
  return { name: spec, kinds: [...kinds] };
}

/** Embeddings computed once per query (single-query calls, timed), reused by every threshold's pass. */
export interface EmbeddedQueries {
  readonly vectors: Map<string, Float32Array>;
  /** Per query text: the model's wall time for that one text, ms. */
  readonly embedMs: Map<string, number>;
}

export async function embedQueries(texts: readonly string[], embedder: Embedder, onProgress?: (n: number) => void): Promise<EmbeddedQueries> {
  const vectors = new Map<string, Float32Array>();
  const embedMs = new Map<string, number>();
  let n = 0;
  for (const t of texts) {
    if (!vectors.has(t)) {
      const start = performance.now();
      const [e] = await embedder.embed([t]);
      embedMs.set(t, performance.now() - start);
      vectors.set(t, e!.vector);
    }
    onProgress?.(++n);
  }
  return { vectors, embedMs };
}

/** Serves the precomputed vectors under the real embedder's name, so the engine's code path is unchanged. */
function replayEmbedder(name: string, dimensions: number, q: EmbeddedQueries): Embedder {
  return {
    name,
    dimensions,
    async embed(texts) {
      return texts.map((t) => {
        const vector = q.vectors.get(t);
        if (!vector) throw new Error("query was not embedded beforehand");
        return { vector, costNanoUsd: 0 };
      });
    },
  };
}

export interface PassResult {
  readonly threshold: number;
  readonly guard: string;
  readonly queries: number;
  readonly exactHits: number;
  readonly semanticHits: number;
  readonly wrongHits: number;
  readonly guardRefusals: number;
  /** Lookup time per query, ms: the cache's own work (store, ANN, guard) plus the query's embedding when the lookup embedded. */
  readonly lookupMs: readonly number[];
}

export const hitRate = (r: PassResult) => (r.exactHits + r.semanticHits) / r.queries;
export const wrongRate = (r: PassResult) => (r.exactHits + r.semanticHits === 0 ? 0 : r.wrongHits / (r.exactHits + r.semanticHits));

/**
 * Stream the rows through the real cache engine in file order: a miss is answered (the answer is
 * the row's intent) and learned, so the first query of an answer populates the cache and later
 * ones may hit. A hit is wrong when the cached intent differs from the query's, or the query is
 * out of scope (no cached answer can be right for it).
 */
export async function evaluatePass(opts: {
  rows: readonly CacheRow[];
  threshold: number;
  guard: GuardVariant;
  store: CacheStore;
  embedder: { name: string; dimensions: number };
  queries: EmbeddedQueries;
  /** Tenant that isolates this pass's entries from every other pass on a shared store. */
  tenant: string;
  onProgress?: (n: number) => void;
}): Promise<PassResult> {
  const policies = parsePolicies({
    version: 1,
    use_cases: { eval: { mode: "semantic", threshold: opts.threshold, ttl_seconds: 86_400, guard: [...opts.guard.kinds] } },
  });
  const index = new ScopedAnnIndex({ dimensions: opts.embedder.dimensions });
  const engine = createCacheEngine({ store: opts.store, index, embedder: replayEmbedder(opts.embedder.name, opts.embedder.dimensions, opts.queries), policies, now: Date.now });
  let exactHits = 0;
  let semanticHits = 0;
  let wrongHits = 0;
  let guardRefusals = 0;
  const lookupMs: number[] = [];
  for (const [i, row] of opts.rows.entries()) {
    const req: LlmRequest = newRequest({
      request_id: `${opts.tenant}-${i}`, tenant: opts.tenant, use_case: "eval", model: "gpt-4o-mini", temperature: 0, max_tokens: 256,
      messages: [{ role: "user", content: row.text }],
    });
    const start = performance.now();
    const r = await engine.lookup(req);
    const logicMs = performance.now() - start;
    const query = r.canonical?.query ?? canonicalize(req, policies.useCases.eval!).query;
    lookupMs.push(logicMs + (r.status !== "HIT_EXACT" ? opts.queries.embedMs.get(query) ?? 0 : 0));
    guardRefusals += r.guardRefusals;
    if (r.status === "HIT_EXACT" || r.status === "HIT_SEMANTIC") {
      if (r.status === "HIT_EXACT") exactHits++;
      else semanticHits++;
      if (row.is_oos || r.entry!.answer.content !== row.intent) wrongHits++;
    } else {
      const pending = engine.pendingFor(req, r);
      if (!pending) throw new Error(`lookup of row ${row.id} ended ${r.status}: ${r.reason}`);
      await opts.store.putPending(pending, 3_600_000);
      const content = row.is_oos ? `oos:${row.id}` : row.intent;
      await engine.learn({
        request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, status: "OK", content, error: null, error_code: null,
        model: "gpt-4o-mini", provider: "openai", served_by: "REALTIME", input_tokens: 0, cached_input_tokens: 0, output_tokens: 0,
        cost_usd: 0, latency_ms: 0, cache_source_request_id: null, created_at: req.created_at,
      });
    }
    opts.onProgress?.(i + 1);
  }
  return { threshold: opts.threshold, guard: opts.guard.name, queries: opts.rows.length, exactHits, semanticHits, wrongHits, guardRefusals, lookupMs };
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
