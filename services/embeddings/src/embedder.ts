import { costOf, requireModel, type PriceCatalog } from "@costwise/pricing";
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
  /**
   * Dynamically quantised (int8) weights: activations are quantised with one scale per run, so a
   * text's vector would depend on what else shares its run. Such a model embeds one text per run.
   */
  readonly quantized: boolean;
}

/** A directory without these fields is the original all-MiniLM-L6-v2 export (mean pooling, no prefix). */
export function readModelCard(modelDir: string): ModelCard {
  let raw: Partial<ModelCard> = {};
  try {
    raw = JSON.parse(readFileSync(path.join(modelDir, "costwise-model.json"), "utf8")) as Partial<ModelCard>;
  } catch {
    // no card: the defaults below
  }
  const name = raw.name ?? "all-MiniLM-L6-v2";
  // Cards written before the field existed: the quantised exports are the ones named `-q`.
  return { name, pooling: raw.pooling ?? "mean", queryPrefix: raw.queryPrefix ?? "", dimensions: raw.dimensions ?? 384, onnxSha256: raw.onnxSha256 ?? null, quantized: raw.quantized ?? name.endsWith("-q") };
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
 * Coalesce concurrent single-text calls into one model call (the stream runtime processes many
 * requests of a sub-batch at once): texts asked for in the same turn of the event loop share a
 * call, which the local embedder runs in length-sorted groups.
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
