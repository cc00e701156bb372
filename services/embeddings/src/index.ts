export { localEmbedder, openaiEmbedder, batchingEmbedder, EmbeddingError, type Embedder, type Embedding, type EmbedPort } from "./embedder.ts";
export { cosine, encodeVector, decodeVector } from "./vector.ts";
