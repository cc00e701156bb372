import path from "node:path";
import { localEmbedder, type Embedder } from "@costwise/embeddings";
import { embeddingModelDir, repoRoot } from "@costwise/infra";
import type { EvalSet } from "../src/eval/dataset.ts";
import { withFeatures, type EmbeddedSet } from "../src/eval/semantic.ts";
import { embeddingTextOf } from "../src/semantic/embedding-text.ts";
import { EmbeddingCache } from "./embedding-cache.ts";

/** The local sentence model the cache runs; its name is recorded in every model file trained here. */
export const LOCAL_EMBEDDING_NAME = "local:all-MiniLM-L6-v2";

/**
 * Embeds every row of the sets, through the on-disk cache under .costwise/router-embeddings, so
 * only texts never seen before run through the model (progress on stderr).
 */
export async function embedSets(sets: readonly EvalSet[], opts: { modelDir?: string; cacheDir?: string } = {}): Promise<{ embedding: { model: string; dimensions: number }; sets: EmbeddedSet[] }> {
  const cacheDir = opts.cacheDir ?? path.join(repoRoot, ".costwise", "router-embeddings");
  const cache = new EmbeddingCache(cacheDir, LOCAL_EMBEDDING_NAME);
  const texts = sets.map((s) => s.rows.map((r) => embeddingTextOf(r.input)));
  const missing = texts.flat().filter((t) => cache.get(t) === undefined);
  let embedder: Embedder | null = null;
  if (missing.length > 0) {
    process.stderr.write(`embedding ${missing.length} texts with ${LOCAL_EMBEDDING_NAME} (cached under ${cacheDir})\n`);
    embedder = await localEmbedder({ modelDir: opts.modelDir ?? embeddingModelDir(), threads: 1, name: LOCAL_EMBEDDING_NAME });
  }
  const out: EmbeddedSet[] = [];
  for (let i = 0; i < sets.length; i++) {
    const vectors = embedder
      ? await cache.embedAll(embedder, texts[i]!, { progress: (d, n) => { if (d === n || d % 400 < 8) process.stderr.write(`  ${sets[i]!.name}: ${d}/${n}\n`); } })
      : texts[i]!.map((t) => cache.get(t)!);
    out.push(withFeatures(sets[i]!, vectors));
  }
  await embedder?.close?.();
  return { embedding: { model: LOCAL_EMBEDDING_NAME, dimensions: out[0]?.vectors[0]?.length ?? 384 }, sets: out };
}
