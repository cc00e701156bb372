import { describe, expect, it } from "vitest";
import { DEFAULT_EMBEDDING_MODELS } from "./config.ts";
import { cosine, createEmbeddings, embedText, parseEmbeddingRequest } from "./embeddings.ts";
import { ProviderHttpError } from "./errors.ts";
import { Tokenizer } from "./tokens.ts";

const tokenizer = new Tokenizer({ maxCachedTokens: 100_000 });
const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe("embedText", () => {
  it("is deterministic and L2-normalised", () => {
    const a = embedText("The quick brown fox", 1536, 1536, 1);
    expect(embedText("The quick brown fox", 1536, 1536, 1)).toEqual(a);
    expect(norm(a)).toBeCloseTo(1, 5);
    expect(norm(embedText("The quick brown fox", 3072, 256, 1))).toBeCloseTo(1, 5);
    expect(norm(embedText("!!!", 1536, 1536, 1))).toBeCloseTo(1, 5);
  });

  it("places texts that share words closer than unrelated texts", () => {
    const query = embedText("how to reduce the cost of llm inference", 1536, 1536, 1);
    const related = embedText("reduce llm inference cost with caching", 1536, 1536, 1);
    const unrelated = embedText("my cat sleeps on the warm windowsill", 1536, 1536, 1);
    expect(cosine(query, related)).toBeGreaterThan(cosine(query, unrelated) + 0.2);
    expect(cosine(query, query)).toBeCloseTo(1, 5);
  });

  it("keeps similarity structure when truncated to fewer dimensions", () => {
    const query = embedText("how to reduce the cost of llm inference", 3072, 256, 1);
    const related = embedText("reduce llm inference cost with caching", 3072, 256, 1);
    const unrelated = embedText("my cat sleeps on the warm windowsill", 3072, 256, 1);
    expect(cosine(query, related)).toBeGreaterThan(cosine(query, unrelated));
  });
});

describe("createEmbeddings", () => {
  it("returns one vector per input with dimensions honoured and real-tokenizer usage", () => {
    const request = parseEmbeddingRequest({ model: "text-embedding-3-large", input: ["alpha beta", "gamma"], dimensions: 512, encoding_format: "float" }, DEFAULT_EMBEDDING_MODELS);
    const response = createEmbeddings(request, DEFAULT_EMBEDDING_MODELS, tokenizer);
    expect(response.data).toHaveLength(2);
    expect(response.data[1]!.index).toBe(1);
    expect((response.data[0]!.embedding as number[]).length).toBe(512);
    expect(response.usage.prompt_tokens).toBe(tokenizer.count("alpha beta") + tokenizer.count("gamma"));
    expect(response.usage.total_tokens).toBe(response.usage.prompt_tokens);
  });

  it("encodes base64 as little-endian float32, identical to the float form", () => {
    const float = createEmbeddings(parseEmbeddingRequest({ model: "text-embedding-3-small", input: "hello" }, DEFAULT_EMBEDDING_MODELS), DEFAULT_EMBEDDING_MODELS, tokenizer);
    const b64 = createEmbeddings(
      parseEmbeddingRequest({ model: "text-embedding-3-small", input: "hello", encoding_format: "base64" }, DEFAULT_EMBEDDING_MODELS),
      DEFAULT_EMBEDDING_MODELS,
      tokenizer,
    );
    const bytes = Buffer.from(b64.data[0]!.embedding as string, "base64");
    const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    expect(decoded).toEqual(float.data[0]!.embedding);
    expect(decoded).toHaveLength(1536);
  });

  it("rejects unknown models (404), oversize dimensions and empty input (400)", () => {
    const status = (body: unknown) => {
      try {
        createEmbeddings(parseEmbeddingRequest(body, DEFAULT_EMBEDDING_MODELS), DEFAULT_EMBEDDING_MODELS, tokenizer);
      } catch (error) {
        if (error instanceof ProviderHttpError) return error.statusCode;
        throw error;
      }
      return 200;
    };
    expect(status({ model: "text-embedding-4", input: "x" })).toBe(404);
    expect(status({ model: "text-embedding-3-small", input: "x", dimensions: 4096 })).toBe(400);
    expect(status({ model: "text-embedding-3-small", input: "" })).toBe(400);
    expect(status({ model: "text-embedding-3-small", input: [] })).toBe(400);
    expect(status({ model: "text-embedding-3-small", input: [[9906, 1917]] })).toBe(200);
  });
});
