import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { pipeline } from "node:stream/promises";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { EmbeddingError, readModelCard, type Embedder, type Embedding } from "./embedder.ts";

type Ort = typeof import("onnxruntime-node");
type Session = Awaited<ReturnType<Ort["InferenceSession"]["create"]>>;

interface Encoded {
  readonly ids: readonly number[];
  readonly mask: readonly number[];
  readonly types: readonly number[];
}

/** BERT-style models were trained on at most 512 positions; longer inputs are cut like the tokenizer's `truncation: true`. */
const MAX_POSITIONS = 512;
/** Texts per model run once sorted by length: long runs pad less but each waits for the slowest. */
const MAX_RUN = 16;

/**
 * Group text indices (sorted by token count) into model runs whose padding stays small: a run ends
 * at MAX_RUN texts or when the next text is a quarter longer than the run's first (plus a few tokens
 * of slack, so short texts are not run one by one). Padding every text to the longest of a mixed
 * batch was what made large batches slower than small ones.
 */
export function lengthRuns(lengths: readonly number[], maxRun = MAX_RUN): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]!);
  const runs: number[][] = [];
  let run: number[] = [];
  for (const i of order) {
    const first = run.length > 0 ? lengths[run[0]!]! : 0;
    if (run.length > 0 && (run.length >= maxRun || lengths[i]! > first * 1.25 + 8)) {
      runs.push(run);
      run = [];
    }
    run.push(i);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * A local sentence model (all-MiniLM-L6-v2, bge-small-en-v1.5, e5-small-v2: the pooling and query
 * prefix each was trained with come from its directory's card; L2-normalised), run with
 * onnxruntime-node and the model's own tokenizer (`@huggingface/tokenizers`), from a local
 * directory only: nothing is downloaded at run time. The vectors are the ones the transformers.js
 * feature-extraction pipeline gives (same tokenizer, truncation, padding and pooling; a test checks
 * them against reference vectors), without loading that library and its image stack: a service
 * holding a model is ~70 MB smaller. Its name is `local:<model>`, so vectors of two models are never
 * compared. Texts of one call run in length-sorted groups (an fp32 model's vectors do not depend on
 * the group); a quantised model runs one text at a time, so a text always gets the same vector.
 */
export async function localEmbedder(opts: { modelDir: string; threads?: number; name?: string; /** Deadline of loading the model (default 60 s). */ loadTimeoutMs?: number }): Promise<Embedder> {
  const card = readModelCard(opts.modelDir);
  const file = path.join(opts.modelDir, "onnx", "model.onnx");
  if (card.onnxSha256) {
    // A file changed after it was checked (a partial copy, another model dropped in) would embed on a different scale.
    let sha: string;
    try {
      // Streamed: reading the whole file into one buffer would add its size to the process's peak memory.
      const hash = createHash("sha256");
      await pipeline(createReadStream(file), hash);
      sha = hash.digest("hex");
    } catch (err) {
      throw new EmbeddingError(`cannot read the embedding model ${file}: ${(err as Error).message}`, { cause: err });
    }
    if (sha !== card.onnxSha256) throw new EmbeddingError(`embedding model ${file} fails its checksum: sha256 ${sha}, expected ${card.onnxSha256} (delete the directory; npm run stack:up fetches it again)`);
  }
  let tokenizer: Tokenizer;
  let maxLength: number;
  let session: Session;
  let ort: Ort;
  try {
    const tokenizerJson = JSON.parse(readFileSync(path.join(opts.modelDir, "tokenizer.json"), "utf8")) as object;
    const tokenizerConfig = JSON.parse(readFileSync(path.join(opts.modelDir, "tokenizer_config.json"), "utf8")) as { model_max_length?: number };
    tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    maxLength = Math.min(tokenizerConfig.model_max_length ?? MAX_POSITIONS, MAX_POSITIONS);
    ort = await import("onnxruntime-node");
    const loadMs = opts.loadTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const threads = opts.threads ?? 1;
    try {
      session = await Promise.race([
        // Memory patterns are planned per input shape; with texts of every length they only grow the arena.
        ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1, enableMemPattern: false }),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`loading did not finish within ${loadMs} ms`)), loadMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    throw new EmbeddingError(`cannot load the embedding model from ${opts.modelDir} (run npm run stack:up, which fetches it): ${(err as Error).message}`, { cause: err });
  }
  const dimensions = card.dimensions;
  const withTypes = session.inputNames.includes("token_type_ids");
  const output = session.outputNames.includes("last_hidden_state") ? "last_hidden_state" : session.outputNames[0]!;

  const encode = (text: string): Encoded => {
    const e = tokenizer.encode(card.queryPrefix + text, { return_token_type_ids: true });
    const n = Math.min(e.ids.length, maxLength);
    return { ids: e.ids.slice(0, n), mask: e.attention_mask.slice(0, n), types: (e.token_type_ids ?? []).slice(0, n) };
  };

  async function run(batch: readonly Encoded[]): Promise<Float32Array[]> {
    const b = batch.length;
    const len = Math.max(...batch.map((e) => e.ids.length));
    const ids = new BigInt64Array(b * len);
    const mask = new BigInt64Array(b * len);
    const types = new BigInt64Array(b * len);
    batch.forEach((e, i) => {
      for (let j = 0; j < e.ids.length; j++) {
        ids[i * len + j] = BigInt(e.ids[j]!);
        mask[i * len + j] = BigInt(e.mask[j]!);
        types[i * len + j] = BigInt(e.types[j] ?? 0);
      }
    });
    const feeds: Record<string, InstanceType<Ort["Tensor"]>> = {
      input_ids: new ort.Tensor("int64", ids, [b, len]),
      attention_mask: new ort.Tensor("int64", mask, [b, len]),
    };
    if (withTypes) feeds.token_type_ids = new ort.Tensor("int64", types, [b, len]);
    const result = await session.run(feeds);
    const hidden = result[output]!;
    const data = hidden.data as Float32Array;
    const dim = hidden.dims[2];
    if (hidden.dims.length !== 3 || dim !== dimensions) throw new EmbeddingError(`embedding model returned shape [${hidden.dims.join(", ")}], expected [${b}, ${len}, ${dimensions}]`);
    return batch.map((e, i) => {
      const v = new Float32Array(dimensions);
      const base = i * len * dimensions;
      if (card.pooling === "cls") {
        v.set(data.subarray(base, base + dimensions));
      } else {
        let count = 0;
        for (let j = 0; j < len; j++) {
          if (!e.mask[j]) continue;
          count++;
          const row = base + j * dimensions;
          for (let k = 0; k < dimensions; k++) v[k]! += data[row + k]!;
        }
        for (let k = 0; k < dimensions; k++) v[k]! /= Math.max(count, 1);
      }
      let norm = 0;
      for (const x of v) norm += x * x;
      norm = Math.sqrt(norm);
      if (norm > 0) for (let k = 0; k < dimensions; k++) v[k]! /= norm;
      return v;
    });
  }

  return {
    name: opts.name ?? `local:${card.name}`,
    dimensions,
    async embed(texts) {
      if (texts.length === 0) return [];
      const encoded = texts.map(encode);
      const out = new Array<Embedding>(texts.length);
      for (const group of lengthRuns(encoded.map((e) => e.ids.length), card.quantized ? 1 : MAX_RUN)) {
        const vectors = await run(group.map((i) => encoded[i]!));
        group.forEach((i, j) => (out[i] = { vector: vectors[j]!, costNanoUsd: 0 }));
      }
      return out;
    },
    close: () => session.release(),
  };
}
