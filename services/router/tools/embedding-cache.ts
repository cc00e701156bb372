import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, appendFileSync } from "node:fs";
import path from "node:path";
import type { Embedder } from "@costwise/embeddings";

/**
 * Training and evaluation embed thousands of prompts (MMLU dev alone is 4,152) on two shared
 * cores; the vectors are kept on disk by model name and text hash so each text is embedded once.
 * One JSON line per text: `{ "k": sha1(text), "v": base64(float32 LE) }`, appended as computed,
 * so an interrupted run resumes where it stopped.
 */
export class EmbeddingCache {
  private readonly file: string;
  private readonly vectors = new Map<string, Float32Array>();

  constructor(dir: string, readonly modelName: string) {
    mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, `${modelName.replace(/[^A-Za-z0-9._-]+/g, "_")}.jsonl`);
    if (existsSync(this.file)) {
      for (const line of readFileSync(this.file, "utf8").split("\n")) {
        if (!line) continue;
        try {
          const { k, v } = JSON.parse(line) as { k: string; v: string };
          const b = Buffer.from(v, "base64");
          this.vectors.set(k, new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4).slice());
        } catch {
          // a line cut off by an interrupted run: that text is embedded again
        }
      }
    }
  }

  static key(text: string): string {
    return createHash("sha1").update(text).digest("hex");
  }

  get(text: string): Float32Array | undefined {
    return this.vectors.get(EmbeddingCache.key(text));
  }

  /** Vectors for every text, embedding the missing ones in batches (progress on stderr). */
  async embedAll(embedder: Embedder, texts: readonly string[], opts: { batch?: number; progress?: (done: number, total: number) => void } = {}): Promise<Float32Array[]> {
    if (embedder.name !== this.modelName) throw new Error(`embedding cache is for ${this.modelName}, not ${embedder.name}`);
    const missing = [...new Set(texts.filter((t) => !this.vectors.has(EmbeddingCache.key(t))))];
    const batch = opts.batch ?? 8;
    for (let i = 0; i < missing.length; i += batch) {
      const chunk = missing.slice(i, i + batch);
      const out = await embedder.embed(chunk);
      const lines = chunk.map((t, j) => {
        const v = out[j]!.vector;
        this.vectors.set(EmbeddingCache.key(t), v);
        return JSON.stringify({ k: EmbeddingCache.key(t), v: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") });
      });
      appendFileSync(this.file, `${lines.join("\n")}\n`);
      opts.progress?.(Math.min(i + batch, missing.length), missing.length);
    }
    return texts.map((t) => this.vectors.get(EmbeddingCache.key(t))!);
  }
}
