import { z } from "zod";
import { openAiError } from "./errors.ts";
import { fnv1a32 } from "./hash.ts";
import type { Tokenizer } from "./tokens.ts";
import { firstIssue, isMissing, openAiParamPath } from "./zod-errors.ts";

/**
 * Band edges for feature hashing. Every feature lands once in each band, and bands grow
 * geometrically, so any prefix of the vector (what `dimensions` returns, like OpenAI's
 * Matryoshka-trained models) still carries every feature.
 */
export function bandEdges(fullDims: number): number[] {
  const edges = [0];
  for (let edge = 32; edge < fullDims; edge *= 2) edges.push(edge);
  edges.push(fullDims);
  return edges;
}

const BIGRAM_WEIGHT = 0.7;

function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * Deterministic embedding by feature hashing of word unigrams and bigrams (signed, seeded
 * by model), truncated to `dims` and L2-normalised. Texts that share words have a higher
 * cosine similarity; there is no semantics beyond word overlap.
 */
export function embedText(text: string, fullDims: number, dims: number, modelSeed: number): Float32Array {
  const full = new Float64Array(fullDims);
  const edges = bandEdges(fullDims);
  const addFeature = (feature: string, weight: number) => {
    for (let band = 0; band + 1 < edges.length; band++) {
      const start = edges[band]!;
      const width = edges[band + 1]! - start;
      const h = fnv1a32(feature, modelSeed + band * 7919);
      const sign = h & 1 ? 1 : -1;
      full[start + ((h >>> 1) % width)]! += sign * weight;
    }
  };
  const tokens = words(text);
  if (tokens.length === 0) {
    addFeature(`\u0001${text}`, 1);
  } else {
    for (let i = 0; i < tokens.length; i++) {
      addFeature(tokens[i]!, 1);
      if (i + 1 < tokens.length) addFeature(`${tokens[i]}\u0000${tokens[i + 1]}`, BIGRAM_WEIGHT);
    }
  }
  const out = new Float32Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) norm += full[i]! * full[i]!;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < dims; i++) out[i] = full[i]! * scale;
  if (scale === 0) out[0] = 1;
  return out;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length && i < b.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

const EmbeddingRequestSchema = z
  .object({
    model: z.string(),
    input: z.union([z.string(), z.array(z.string()), z.array(z.number().int().nonnegative()), z.array(z.array(z.number().int().nonnegative()))]),
    dimensions: z.number().int().positive().nullish(),
    encoding_format: z.enum(["float", "base64"]).nullish(),
    user: z.string().nullish(),
  })
  .passthrough();
export type EmbeddingRequest = z.infer<typeof EmbeddingRequestSchema>;

export const MAX_EMBEDDING_INPUTS = 2048;
export const MAX_EMBEDDING_INPUT_TOKENS = 8192;

export interface EmbeddingResponse {
  object: "list";
  data: { object: "embedding"; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export function parseEmbeddingRequest(body: unknown, models: Readonly<Record<string, number>>): EmbeddingRequest {
  const parsed = EmbeddingRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    const param = openAiParamPath(issue.path);
    if (param === "model" && isMissing(issue)) throw openAiError(400, "you must provide a model parameter");
    if (isMissing(issue)) throw openAiError(400, `Missing required parameter: '${param}'.`, { param, code: "missing_required_parameter" });
    throw openAiError(400, `'$.${param}' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.`, { param });
  }
  const request = parsed.data;
  const native = models[request.model];
  if (native === undefined) {
    throw openAiError(404, `The model \`${request.model}\` does not exist or you do not have access to it.`, { param: "model", code: "model_not_found" });
  }
  if (request.dimensions != null) {
    if (request.model === "text-embedding-ada-002") throw openAiError(400, "This model does not support specifying dimensions.", { param: "dimensions" });
    if (request.dimensions > native) {
      throw openAiError(400, `This model's maximum dimensions is ${native}, however you requested ${request.dimensions}.`, { param: "dimensions" });
    }
  }
  return request;
}

/** Input as a list of texts plus their token counts (token-array inputs are decoded). */
function inputsOf(request: EmbeddingRequest, tokenizer: Tokenizer): { text: string; tokens: number }[] {
  const input = request.input;
  if (typeof input === "string") return [{ text: input, tokens: tokenizer.count(input) }];
  if (input.length === 0) return [];
  if (typeof input[0] === "number") {
    const ids = input as number[];
    return [{ text: tokenizer.decode(ids), tokens: ids.length }];
  }
  if (Array.isArray(input[0])) return (input as number[][]).map((ids) => ({ text: tokenizer.decode(ids), tokens: ids.length }));
  return (input as string[]).map((text) => ({ text, tokens: tokenizer.count(text) }));
}

export function createEmbeddings(request: EmbeddingRequest, models: Readonly<Record<string, number>>, tokenizer: Tokenizer): EmbeddingResponse {
  const inputs = inputsOf(request, tokenizer);
  if (inputs.length === 0 || inputs.length > MAX_EMBEDDING_INPUTS) {
    throw openAiError(400, `'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.`, { param: "input" });
  }
  for (const input of inputs) {
    if (input.text.length === 0 && input.tokens === 0) {
      throw openAiError(400, `'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.`, { param: "input" });
    }
    if (input.tokens > MAX_EMBEDDING_INPUT_TOKENS) {
      throw openAiError(400, `This model's maximum context length is ${MAX_EMBEDDING_INPUT_TOKENS} tokens, however you requested ${input.tokens} tokens (${input.tokens} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.`, { param: null });
    }
  }
  const native = models[request.model]!;
  const dims = request.dimensions ?? native;
  const modelSeed = fnv1a32(request.model);
  const base64 = request.encoding_format === "base64";
  let promptTokens = 0;
  const data = inputs.map((input, index) => {
    promptTokens += input.tokens;
    const vector = embedText(input.text, native, dims, modelSeed);
    const embedding = base64 ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString("base64") : Array.from(vector);
    return { object: "embedding" as const, index, embedding };
  });
  return { object: "list", data, model: request.model, usage: { prompt_tokens: promptTokens, total_tokens: promptTokens } };
}
