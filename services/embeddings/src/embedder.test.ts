import { describe, expect, it } from "vitest";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { batchingEmbedder, openaiEmbedder, readModelCard, type EmbedPort } from "./embedder.ts";
import { lengthRuns, localEmbedder } from "./local.ts";
import { bagOfWordsEmbedder } from "./testing/bag-of-words.ts";

const usage = (inputTokens: number) => ({ inputTokens, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 0 });

describe("OpenAI embeddings as an embedder", () => {
  it("normalises vectors and splits the call's cost over its texts, adding up to the bill exactly", async () => {
    const calls: unknown[] = [];
    const port: EmbedPort = {
      embed: async (req) => {
        calls.push(req);
        return { vectors: req.input.map((_, i) => [3 * (i + 1), 4 * (i + 1)]), usage: usage(1_000_003) };
      },
    };
    const e = openaiEmbedder({ providers: port, model: "text-embedding-3-small", catalog, dimensions: 2 });
    const out = await e.embed(["a", "b", "c"]);
    expect(e.name).toBe("openai:text-embedding-3-small:2");
    expect(Array.from(out[1]!.vector)).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
    const bill = costOf(requireModel(catalog, "text-embedding-3-small"), usage(1_000_003)).totalNanoUsd;
    expect(bill).toBeGreaterThan(0);
    expect(out.reduce((s, x) => s + x.costNanoUsd, 0)).toBe(bill);
    expect(calls).toEqual([{ model: "text-embedding-3-small", input: ["a", "b", "c"], dimensions: 2 }]);
  });

  it("refuses vectors of the wrong size and an unknown model", async () => {
    const port: EmbedPort = { embed: async (req) => ({ vectors: req.input.map(() => [1, 0, 0]), usage: usage(3) }) };
    await expect(openaiEmbedder({ providers: port, model: "text-embedding-3-small", catalog, dimensions: 2 }).embed(["a"])).rejects.toThrow(/returned 3 dimensions, expected 2/);
    expect(() => openaiEmbedder({ providers: port, model: "no-such-embedding", catalog })).toThrow();
  });
});

describe("batching embedder", () => {
  it("runs texts asked for together in shared model calls of at most maxBatch, answering each caller with its own vector", async () => {
    const inner = bagOfWordsEmbedder();
    const b = batchingEmbedder(inner, 4);
    const texts = ["a b", "c d", "e f", "g h", "i j", "k l"];
    const out = await Promise.all(texts.map((t) => b.embedOne(t)));
    expect(inner.calls.map((c) => c.length)).toEqual([4, 2]);
    const direct = await inner.embed(texts);
    expect(out.map((o) => Array.from(o.vector))).toEqual(direct.map((d) => Array.from(d.vector)));
  });
});

describe("local model directory", () => {
  it("refuses a model file whose sha256 is not the one its card recorded, before loading anything", async () => {
    const { mkdtempSync, mkdirSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const path = await import("node:path");
    const dir = mkdtempSync(path.join(tmpdir(), "cw-emb-"));
    mkdirSync(path.join(dir, "onnx"));
    writeFileSync(path.join(dir, "onnx", "model.onnx"), "not the model");
    writeFileSync(path.join(dir, "costwise-model.json"), JSON.stringify({ name: "bge-small-en-v1.5-q", pooling: "cls", queryPrefix: "", dimensions: 384, onnxSha256: "0".repeat(64) }));
    expect(readModelCard(dir)).toMatchObject({ name: "bge-small-en-v1.5-q", pooling: "cls" });
    await expect(localEmbedder({ modelDir: dir })).rejects.toThrow(/fails its checksum: sha256 [0-9a-f]{64}, expected 0{64}/);
  });

  it("reads a card-less directory as the original all-MiniLM-L6-v2 export", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const path = await import("node:path");
    expect(readModelCard(mkdtempSync(path.join(tmpdir(), "cw-emb-")))).toEqual({ name: "all-MiniLM-L6-v2", pooling: "mean", queryPrefix: "", dimensions: 384, onnxSha256: null, quantized: false });
  });
  it("takes a card without the quantized field as quantised exactly when its model is a `-q` export", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const path = await import("node:path");
    const dir = mkdtempSync(path.join(tmpdir(), "cw-emb-"));
    writeFileSync(path.join(dir, "costwise-model.json"), JSON.stringify({ name: "bge-small-en-v1.5-q", pooling: "cls" }));
    expect(readModelCard(dir).quantized).toBe(true);
    writeFileSync(path.join(dir, "costwise-model.json"), JSON.stringify({ name: "bge-small-en-v1.5-q", quantized: false }));
    expect(readModelCard(dir).quantized).toBe(false);
  });
});

describe("length runs of the local embedder", () => {
  it("groups texts of similar token counts, shortest first, each index once", () => {
    const lengths = [300, 5, 7, 6, 290, 40, 9, 310];
    const runs = lengthRuns(lengths, 16);
    expect(runs.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    expect(runs).toEqual([[1, 3, 2, 6], [5], [4, 0, 7]]);
  });
  it("caps a run at maxRun texts", () => {
    expect(lengthRuns(Array.from({ length: 10 }, () => 12), 4).map((r) => r.length)).toEqual([4, 4, 2]);
  });
});
