import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { newRequest, type LlmRequest } from "@costwise/schemas";
import type { Embedder } from "@costwise/embeddings";
import { z } from "zod";
import { ScopedAnnIndex } from "../../src/ann.ts";
import { createCacheEngine, type VerificationJob } from "../../src/engine.ts";
import { canonicalize, normalizeText } from "../../src/key.ts";
import { salientDetails, type SalientDetails } from "../../src/guard.ts";
import { parsePolicies, type UseCasePolicy } from "../../src/policy.ts";
import { MemoryCacheStore } from "../../src/memory-store.ts";
import type { AnswerVerifier } from "../../src/verifier.ts";
import { seededRandom } from "@costwise/seeded";
import type { CalibrationState } from "../../src/decision.ts";
import { NEIGHBOURHOODS, type Neighbourhood } from "../../src/store.ts";
import { seedEvidence, type SeededEvidence } from "../../src/warm-start.ts";

export { seededRandom };

/** One row of a cache dataset (`cache_<set>/*.jsonl`; fields beyond these are ignored). */
export const cacheRowSchema = z.object({
  id: z.string(),
  dataset: z.string().min(1).optional(),
  text: z.string().min(1),
  intent: z.string(),
  group_id: z.string().optional(),
  is_oos: z.boolean().default(false),
  reference_response: z.string().nullable().optional(),
});
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

/**
 * Intent groups split in two halves by a hash of the group: the method's constants are tuned on
 * `tune` only, and `report` stands for intents it never saw. `all` is every row.
 */
export type Split = "tune" | "report" | "all";
export function splitOf(row: CacheRow): "tune" | "report" {
  const group = row.group_id ?? (row.is_oos ? `oos:${row.id}` : row.intent);
  return createHash("sha256").update(`costwise-cache-split|${group}`).digest()[0]! % 2 === 0 ? "tune" : "report";
}
export const inSplit = (rows: readonly CacheRow[], split: Split) => (split === "all" ? [...rows] : rows.filter((r) => splitOf(r) === split));

export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rnd = seededRandom(seed * 7919 + 17);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Query vectors computed once per (model, text), single-query calls timed, kept on disk between runs. */
export interface EmbeddedQueries {
  readonly vectors: Map<string, Float32Array>;
  /** Per text: the model's wall time for that one text, ms (the first measurement is kept). */
  readonly embedMs: Map<string, number>;
}

export async function embedQueries(texts: readonly string[], embedder: Embedder, cacheDir: string | null, onProgress?: (n: number) => void): Promise<EmbeddedQueries> {
  const vectors = new Map<string, Float32Array>();
  const embedMs = new Map<string, number>();
  const file = cacheDir ? path.join(cacheDir, `${embedder.name.replace(/[^A-Za-z0-9._-]/g, "_")}.jsonl`) : null;
  if (file && existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (!line) continue;
      const { t, v, ms } = JSON.parse(line) as { t: string; v: string; ms: number };
      vectors.set(t, new Float32Array(new Uint8Array(Buffer.from(v, "base64")).buffer));
      embedMs.set(t, ms);
    }
  }
  const added: string[] = [];
  let n = 0;
  for (const t of texts) {
    if (!vectors.has(t)) {
      const start = performance.now();
      const [e] = await embedder.embed([t]);
      const ms = performance.now() - start;
      embedMs.set(t, ms);
      vectors.set(t, e!.vector);
      added.push(JSON.stringify({ t, v: Buffer.from(e!.vector.buffer, e!.vector.byteOffset, e!.vector.byteLength).toString("base64"), ms }));
    }
    onProgress?.(++n);
  }
  if (file && added.length > 0) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${added.join("\n")}\n`, { flag: "a" });
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

/**
 * The evaluation's judge: the labels. An answer here is the row's intent (or `oos:<id>` for an
 * out-of-scope query, which no other answer can serve), so two answers are interchangeable exactly
 * when they are equal and not out of scope. The production judge is measured against these
 * labels separately (`measureVerifier`).
 */
export const labelVerifier: AnswerVerifier = {
  name: "labels",
  async verify({ cachedAnswer, freshAnswer }) {
    const equivalent = cachedAnswer === freshAnswer && !cachedAnswer.startsWith("oos:");
    return { equivalent, score: null, costNanoUsd: 0 };
  },
  sameAnswer: (a, b) => a.content === b.content && !a.content.startsWith("oos:"),
};

const salientMemo = new Map<string, SalientDetails>();
/** The guard's extraction is pure and slow (NLP): computed once per text for every pass and seed. */
function memoSalient(text: string): SalientDetails {
  let d = salientMemo.get(text);
  if (!d) salientMemo.set(text, (d = salientDetails(text)));
  return d;
}

/** What is being evaluated: the policy as it ships (learned boundary under δ) or a fixed-threshold baseline. */
export interface Method {
  readonly name: string;
  readonly policy: UseCasePolicy;
}

export interface PassResult {
  readonly method: string;
  readonly seed: number;
  readonly queries: number;
  readonly exactHits: number;
  readonly semanticHits: number;
  readonly wrongHits: number;
  /** Would-be hits sent to the model anyway (model calls, not served). */
  readonly explorations: number;
  /** Judge calls: near misses and explorations judged against their neighbour. */
  readonly verifications: number;
  /** The calibrated thresholds at the end of the stream, per kind of neighbourhood (null for a fixed threshold). */
  readonly finalThreshold: Record<Neighbourhood, number> | null;
  /** Lookup time per query, ms: the cache's own work (store, ANN, guard, decision) plus the query's embedding when the lookup embedded. */
  readonly lookupMs: readonly number[];
}

export const served = (r: PassResult) => r.exactHits + r.semanticHits;
export const hitRate = (r: PassResult) => served(r) / r.queries;
export const wrongRate = (r: PassResult) => (served(r) === 0 ? 0 : r.wrongHits / served(r));

/**
 * Stream the rows through the real cache engine (memory store): a miss is answered by "the
 * model" (the answer is the row's intent) and learned; a near miss or exploration produces the
 * verification the service would judge off the request path, judged here at once by the labels.
 * A hit is wrong when the cached intent differs from the query's, or the query is out of scope.
 */
export async function evaluatePass(opts: {
  rows: readonly CacheRow[];
  method: Method;
  seed: number;
  embedder: { name: string; dimensions: number };
  queries: EmbeddedQueries;
  verifier?: AnswerVerifier;
  onProgress?: (n: number) => void;
  /** Warm start: evidence seeded into the calibration before the first query (see warm-start.ts). */
  calibrationSeed?: Record<Neighbourhood, CalibrationState>;
  /** Every served hit: the query's row, the answer it got (the cached row's intent), the similarity (null for exact). */
  onHit?: (row: CacheRow, servedAnswer: string, similarity: number | null, position: number) => void;
}): Promise<PassResult> {
  const policies = parsePolicies({ version: 1, use_cases: {} });
  const useCases = { eval: opts.method.policy };
  const store = new MemoryCacheStore();
  const index = new ScopedAnnIndex({ dimensions: opts.embedder.dimensions });
  const engine = createCacheEngine({
    store, index, embedder: replayEmbedder(opts.embedder.name, opts.embedder.dimensions, opts.queries),
    policies: { ...policies, useCases }, now: Date.now, verifier: opts.verifier ?? labelVerifier, salient: memoSalient, random: seededRandom(opts.seed * 104729 + 3),
  });
  const tenant = "eval";
  for (const neighbourhood of opts.calibrationSeed ? NEIGHBOURHOODS : []) {
    await store.addCalibration({ tenant, useCase: "eval", embedder: opts.embedder.name, neighbourhood }, opts.calibrationSeed![neighbourhood]);
  }
  let exactHits = 0;
  let semanticHits = 0;
  let wrongHits = 0;
  let explorations = 0;
  let verifications = 0;
  const lookupMs: number[] = [];
  for (const [i, row] of opts.rows.entries()) {
    const req: LlmRequest = newRequest({
      request_id: `q${i}`, tenant, use_case: "eval", model: "gpt-4o-mini", temperature: 0, max_tokens: 256,
      messages: [{ role: "user", content: row.text }],
    });
    const start = performance.now();
    const r = await engine.lookup(req);
    const logicMs = performance.now() - start;
    const query = r.canonical?.query ?? canonicalize(req, opts.method.policy).query;
    lookupMs.push(logicMs + (r.status !== "HIT_EXACT" ? opts.queries.embedMs.get(query) ?? 0 : 0));
    if (r.status === "HIT_EXACT" || r.status === "HIT_SEMANTIC") {
      if (r.status === "HIT_EXACT") exactHits++;
      else semanticHits++;
      if (row.is_oos || r.entry!.answer.content !== row.intent) wrongHits++;
      opts.onHit?.(row, r.entry!.answer.content, r.similarity, i);
    } else {
      if (r.verify?.explored) explorations++;
      const pending = engine.pendingFor(req, r);
      if (!pending) throw new Error(`lookup of row ${row.id} ended ${r.status}: ${r.reason}`);
      await store.putPending(pending, 3_600_000);
      const content = row.is_oos ? `oos:${row.id}` : row.intent;
      const learned = await engine.learn({
        request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, status: "OK", content, error: null, error_code: null,
        model: "gpt-4o-mini", provider: "openai", served_by: "REALTIME", input_tokens: 0, cached_input_tokens: 0, output_tokens: 0,
        cost_usd: 0, latency_ms: 0, cache_source_request_id: null, created_at: req.created_at,
      });
      const job: VerificationJob | null = learned.verification;
      if (job) {
        verifications++;
        await engine.verify(job);
      }
    }
    opts.onProgress?.(i + 1);
  }
  return {
    method: opts.method.name, seed: opts.seed, queries: opts.rows.length, exactHits, semanticHits, wrongHits, explorations, verifications,
    finalThreshold: opts.method.policy.threshold !== undefined ? null : Object.fromEntries(await Promise.all(NEIGHBOURHOODS.map(async (h) => [h, (await engine.thresholdFor(tenant, "eval", h))!] as const))) as Record<Neighbourhood, number>, lookupMs,
  };
}

/** The warm-start evidence of labelled rows, streamed in this order, as the `calibrate` command seeds it. */
export function warmStartEvidence(rows: readonly CacheRow[], queries: EmbeddedQueries, policy: UseCasePolicy, candidates = 4): SeededEvidence {
  return seedEvidence(
    rows.map((r) => {
      const query = normalizeText(r.text);
      const vector = queries.vectors.get(query);
      if (!vector) throw new Error("warm-start row was not embedded beforehand");
      return { query, vector, label: r.is_oos ? null : r.intent };
    }),
    { guard: policy.guard, salient: memoSalient, candidates },
  );
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** One method's passes over the seeds: worst, best and every seed's figures. */
export interface SeedSummary {
  readonly method: string;
  readonly queries: number;
  readonly hitRateMin: number;
  readonly hitRateMax: number;
  readonly wrongPerHitMin: number;
  readonly wrongPerHitMax: number;
  readonly explorationsMax: number;
  readonly verificationsMax: number;
  readonly lookupP50: number;
  readonly lookupP99: number;
  readonly finalThresholds: (Record<Neighbourhood, number> | null)[];
}

export function summarize(passes: readonly PassResult[]): SeedSummary {
  if (passes.length === 0) throw new Error("no passes to summarize");
  const hits = passes.map(hitRate);
  const wrong = passes.map(wrongRate);
  const all = passes.flatMap((p) => p.lookupMs);
  return {
    method: passes[0]!.method, queries: passes[0]!.queries,
    hitRateMin: Math.min(...hits), hitRateMax: Math.max(...hits), wrongPerHitMin: Math.min(...wrong), wrongPerHitMax: Math.max(...wrong),
    explorationsMax: Math.max(...passes.map((p) => p.explorations)), verificationsMax: Math.max(...passes.map((p) => p.verifications)),
    lookupP50: percentile(all, 50), lookupP99: percentile(all, 99), finalThresholds: passes.map((p) => p.finalThreshold),
  };
}

/** The last stdout line: per dataset, the shipped method's worst seed. */
export function summaryLine(files: Record<string, SeedSummary>): string {
  const out: Record<string, { queries: number; hit_rate_min: number; wrong_per_hit_max: number }> = {};
  for (const [name, s] of Object.entries(files)) {
    out[name] = { queries: s.queries, hit_rate_min: Number(s.hitRateMin.toFixed(4)), wrong_per_hit_max: Number(s.wrongPerHitMax.toFixed(4)) };
  }
  return JSON.stringify({ files: out });
}

/**
 * How often the production judge agrees with the labels, on rows that carry an answer text
 * (`reference_response`): pairs of answers to the same intent should be judged interchangeable,
 * pairs from different intents not. Pairs are drawn with a seed: half same intent, half not.
 */
export async function measureVerifier(rows: readonly CacheRow[], verifier: AnswerVerifier, pairs: number, seed: number): Promise<{ pairs: number; agree: number; falseAccept: number; falseReject: number; sameIntent: number; otherIntent: number }> {
  const withAnswer = rows.filter((r) => r.reference_response && !r.is_oos);
  const byIntent = new Map<string, CacheRow[]>();
  for (const r of withAnswer) byIntent.set(r.intent, [...(byIntent.get(r.intent) ?? []), r]);
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  let agree = 0;
  let falseAccept = 0;
  let falseReject = 0;
  let sameIntent = 0;
  let otherIntent = 0;
  if (withAnswer.length < 2) return { pairs: 0, agree, falseAccept, falseReject, sameIntent, otherIntent };
  for (let i = 0; i < pairs; i++) {
    const a = pick(withAnswer);
    const same = i % 2 === 0;
    const pool = same ? byIntent.get(a.intent)!.filter((r) => r.id !== a.id) : withAnswer.filter((r) => r.intent !== a.intent);
    if (pool.length === 0) continue;
    const b = pick(pool);
    const v = await verifier.verify({ query: b.text, cachedAnswer: a.reference_response!, freshAnswer: b.reference_response! });
    if (same) sameIntent++;
    else otherIntent++;
    if (v.equivalent === same) agree++;
    else if (v.equivalent) falseAccept++;
    else falseReject++;
  }
  return { pairs: sameIntent + otherIntent, agree, falseAccept, falseReject, sameIntent, otherIntent };
}
