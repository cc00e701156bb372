export { localEmbedder } from "./local.ts";
export { threadedEmbedder } from "./threaded.ts";
export { openaiEmbedder, batchingEmbedder, readModelCard, EmbeddingError, type Embedder, type Embedding, type EmbedPort, type ModelCard } from "./embedder.ts";
export { cosine, encodeVector, decodeVector } from "./vector.ts";
export { localModelDir } from "./model-dir.ts";
export { embedderLanes, type EmbedderLanes } from "./lanes.ts";
