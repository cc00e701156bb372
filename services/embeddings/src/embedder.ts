import { costOf, requireModel, type PriceCatalog } from "@costwise/pricing";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import DataLoader from "dataloader";

/** One query's vector (unit length) and what computing it cost. */
export interface Embedding {
  readonly vector: Float32Array;
  /** nano-USD; 0 for the local model. */
  readonly costNanoUsd: number;
}

/** Turns query texts into unit vectors. Implementations: the local ONNX model, OpenAI. */
export interface Embedder {
  /** e.g. "local:all-MiniLM-L6-v2"; entries embedded by another model are never compared with this one's vectors. */
  readonly name: string;
  readonly dimensions: number;
  embed(texts: readonly string[]): Promise<Embedding[]>;
  close?(): Promise<void>;
}

export class EmbeddingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

function normalized(v: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(v);
  let norm = 0;
  for (const x of out) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}

/** What a model directory says about itself (`costwise-model.json`, written by `ensureEmbeddingModel`). */
export interface ModelCard {
  readonly name: string;
  readonly pooling: "mean" | "cls";
  readonly queryPrefix: string;
  readonly dimensions: number;
  /** The ONNX file's sha256 as checked when the directory was filled; checked again on load. */
  readonly onnxSha256: string | null;
}

/** A directory without these fields is the original all-MiniLM-L6-v2 export (mean pooling, no prefix). */
export function readModelCard(modelDir: string): ModelCard {
  let raw: Partial<ModelCard> = {};
  try {
    raw = JSON.parse(readFileSync(path.join(modelDir, "costwise-model.json"), "utf8")) as Partial<ModelCard>;
  } catch {
    // no card: the defaults below
  }
  return { name: raw.name ?? "all-MiniLM-L6-v2", pooling: raw.pooling ?? "mean", queryPrefix: raw.queryPrefix ?? "", dimensions: raw.dimensions ?? 384, onnxSha256: raw.onnxSha256 ?? null };
}

/**
 * A local sentence model (all-MiniLM-L6-v2, bge-small-en-v1.5, e5-small-v2: the pooling and query
 * prefix each was trained with come from its directory's card; L2-normalised) through
 * transformers.js + onnxruntime-node, from a local directory only (see `ensureEmbeddingModel` in
 * @costwise/infra): nothing is downloaded at run time. Its name is `local:<model>`, so vectors of
 * two models are never compared.
 */
export async function localEmbedder(opts: { modelDir: string; threads?: number; name?: string; /** Deadline of loading the model (default 60 s). */ loadTimeoutMs?: number }): Promise<Embedder> {
  const card = readModelCard(opts.modelDir);
  if (card.onnxSha256) {
    // A file changed after it was checked (a partial copy, another model dropped in) would embed on a different scale.
    const file = path.join(opts.modelDir, "onnx", "model.onnx");
    let sha: string;
    try {
      sha = createHash("sha256").update(readFileSync(file)).digest("hex");
    } catch (err) {
      throw new EmbeddingError(`cannot read the embedding model ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (sha !== card.onnxSha256) throw new EmbeddingError(`embedding model ${file} fails its checksum: sha256 ${sha}, expected ${card.onnxSha256} (delete the directory; npm run stack:up fetches it again)`);
  }
  const { env, pipeline } = await import("@huggingface/transformers");
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  let extractor: Awaited<ReturnType<typeof pipeline<"feature-extraction">>>;
  try {
    const loadMs = opts.loadTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const loading = pipeline("feature-extraction", opts.modelDir, {
      dtype: "fp32",
      ...(opts.threads ? { session_options: { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } } : {}),
    });
    try {
      extractor = await Promise.race([
        loading,
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`loading did not finish within ${loadMs} ms`)), loadMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    throw new EmbeddingError(`cannot load the embedding model from ${opts.modelDir} (run npm run stack:up, which fetches it): ${(err as Error).message}`, { cause: err });
  }
  const dimensions = card.dimensions;
  return {
    name: opts.name ?? `local:${card.name}`,
    dimensions,
    async embed(texts) {
      if (texts.length === 0) return [];
      const out = await extractor(texts.map((t) => card.queryPrefix + t), { pooling: card.pooling, normalize: true });
      const data = out.data as Float32Array;
      if (data.length !== texts.length * dimensions) throw new EmbeddingError(`embedding model returned ${data.length} values for ${texts.length} texts`);
      return texts.map((_, i) => ({ vector: data.slice(i * dimensions, (i + 1) * dimensions), costNanoUsd: 0 }));
    },
    close: () => extractor.dispose(),
  };
}

/** The provider call OpenAI embeddings need (`Providers.embed` from @costwise/providers). */
export interface EmbedPort {
  embed(req: { model: string; input: readonly string[]; dimensions?: number }): Promise<{ vectors: number[][]; usage: { inputTokens: number; cachedInputTokens: number; cacheWriteInputTokens: number; outputTokens: number } }>;
}

/** OpenAI embeddings; their cost (integer nano-USD from the price catalog) is split over the batch's texts. */
export function openaiEmbedder(opts: { providers: EmbedPort; model: string; catalog: PriceCatalog; dimensions?: number }): Embedder {
  const price = requireModel(opts.catalog, opts.model);
  // text-embedding-3-large returns 3072 dimensions, -3-small and ada-002 1536, unless shortened on request.
  const dimensions = opts.dimensions ?? (price.id.includes("large") ? 3072 : 1536);
  return {
    name: `openai:${price.id}:${dimensions}`,
    dimensions,
    async embed(texts) {
      if (texts.length === 0) return [];
      const res = await opts.providers.embed({ model: price.id, input: texts, ...(opts.dimensions ? { dimensions: opts.dimensions } : {}) });
      const total = costOf(price, res.usage).totalNanoUsd;
      const share = Math.floor(total / texts.length);
      return res.vectors.map((v, i) => {
        if (v.length !== dimensions) throw new EmbeddingError(`${price.id} returned ${v.length} dimensions, expected ${dimensions}`);
        // The remainder goes to the first text so the shares add up to the bill exactly.
        return { vector: normalized(v), costNanoUsd: share + (i === 0 ? total - share * texts.length : 0) };
      });
    },
  };
}

/**
 * Coalesce concurrent single-text calls into one model run (the stream runtime processes many
 * requests of a sub-batch at once): texts asked for in the same turn of the event loop share a
 * batch. Small batches: on one CPU thread, padding every text to the longest of a large batch
 * costs more than the batch saves (measured: 167 texts/s in batches of 4, 114/s in batches of 32).
 */
export function batchingEmbedder(inner: Embedder, maxBatch = 4): Embedder & { embedOne(text: string): Promise<Embedding> } {
  const loader = new DataLoader<string, Embedding>(async (texts) => inner.embed(texts), {
    cache: false,
    maxBatchSize: maxBatch,
    batchScheduleFn: (run) => setImmediate(run),
  });
  return {
    name: inner.name,
    dimensions: inner.dimensions,
    embed: (texts) => loader.loadMany(texts).then((r) => r.map((x) => {
      if (x instanceof Error) throw x;
      return x;
    })),
    embedOne: (text) => loader.load(text),
    ...(inner.close ? { close: () => inner.close!() } : {}),
  };
}
