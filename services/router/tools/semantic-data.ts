import path from "node:path";
import { localEmbedder, type Embedder } from "@costwise/embeddings";
import { embeddingModelDir, embeddingModelSpec, repoRoot } from "@costwise/infra";
import type { EvalSet } from "../src/eval/dataset.ts";
import { withFeatures, type EmbeddedSet } from "../src/eval/semantic.ts";
import { ROUTER_EMBEDDING_MODEL } from "../src/config.ts";
import { embeddingTextOf } from "../src/semantic/embedding-text.ts";
import { EmbeddingCache } from "./embedding-cache.ts";

/** The embedder name of a local model, as the cache and the router record it (`local:<model>`). */
export const localEmbeddingName = (model: string) => `local:${embeddingModelSpec(model).name}`;

/** Where vectors are kept between runs: the shared home when COSTWISE_HOME is set, else the checkout's .costwise. */
const defaultCacheDir = () => path.join(process.env.COSTWISE_HOME?.trim() || path.join(repoRoot, ".costwise"), "router-embeddings");

/**
 * Embeds every row of the sets with a local sentence model (default: the one the cache ships, so
 * the router reuses the cache's vector), through the on-disk cache under .costwise/router-embeddings,
 * so only texts never seen before run through the model (progress on stderr).
 */
export async function embedSets(sets: readonly EvalSet[], opts: { model?: string; modelDir?: string; cacheDir?: string } = {}): Promise<{ embedding: { model: string; dimensions: number }; sets: EmbeddedSet[] }> {
  const model = opts.model ?? ROUTER_EMBEDDING_MODEL;
  const name = localEmbeddingName(model);
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const cache = new EmbeddingCache(cacheDir, name);
  const texts = sets.map((s) => s.rows.map((r) => embeddingTextOf(r.input)));
  const missing = texts.flat().filter((t) => cache.get(t) === undefined);
  let embedder: Embedder | null = null;
  if (missing.length > 0) {
    process.stderr.write(`embedding ${missing.length} texts with ${name} (cached under ${cacheDir})\n`);
    embedder = await localEmbedder({ modelDir: opts.modelDir ?? embeddingModelDir(undefined, model), threads: 1, name });
  }
  const out: EmbeddedSet[] = [];
  for (let i = 0; i < sets.length; i++) {
    const vectors = embedder
      ? await cache.embedAll(embedder, texts[i]!, { progress: (d, n) => { if (d === n || d % 400 < 8) process.stderr.write(`  ${sets[i]!.name}: ${d}/${n}\n`); } })
      : texts[i]!.map((t) => cache.get(t)!);
    out.push(withFeatures(sets[i]!, vectors));
  }
  await embedder?.close?.();
  return { embedding: { model: name, dimensions: out[0]?.vectors[0]?.length ?? embeddingModelSpec(model).dimensions }, sets: out };
}
