import { existsSync } from "node:fs";
import { getPriority } from "node:os";
import path from "node:path";
import { threadId } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { EmbeddingError } from "./embedder.ts";
import { localEmbedder } from "./local.ts";
import { localModelDir } from "./model-dir.ts";
import { threadedEmbedder } from "./threaded.ts";

function modelDir(model: string): string {
  const dir = localModelDir(model);
  // `npm test` starts with stack:up, which fetches every model the stack serves.
  if (!existsSync(path.join(dir, "onnx", "model.onnx"))) throw new Error(`${model} is not at ${dir}: run npm run stack:up (it fetches the models)`);
  return dir;
}

const texts = ["How do I reset my password?", "", "a much longer question about an invoice that was charged twice in the same month ".repeat(20), "naïve café ☕"];

describe("threaded embedder", () => {
  it("runs the model off the main thread and gives the vectors the in-thread embedder gives", async () => {
    const dir = modelDir("all-MiniLM-L6-v2");
    const [threaded, local] = await Promise.all([threadedEmbedder({ modelDir: dir }), localEmbedder({ modelDir: dir })]);
    try {
      expect(threaded.threadId).not.toBe(threadId);
      expect(threaded.name).toBe(local.name);
      expect(threaded.dimensions).toBe(local.dimensions);
      const [a, b] = await Promise.all([threaded.embed(texts), local.embed(texts)]);
      expect(a).toHaveLength(texts.length);
      a.forEach((e, i) => {
        expect(e.costNanoUsd).toBe(0);
        expect([...e.vector]).toEqual([...b[i]!.vector]);
      });
      expect(await threaded.embed([])).toEqual([]);
    } finally {
      await Promise.all([threaded.close?.(), local.close?.()]);
    }
  });

  it("fails each call past its deadline with an EmbeddingError instead of waiting on the native run", async () => {
    const e = await threadedEmbedder({ modelDir: modelDir("all-MiniLM-L6-v2"), timeoutMs: 1 });
    try {
      const long = Array.from({ length: 64 }, (_, i) => `${i} ${texts[2]}`);
      await expect(e.embed(long)).rejects.toThrow(EmbeddingError);
      await expect(e.embed(long)).rejects.toThrow(/did not finish within 1 ms/);
    } finally {
      await e.close?.();
    }
  });

  it("runs background work at a lower CPU priority than the service's own thread", async () => {
    const dir = modelDir("all-MiniLM-L6-v2");
    const [normal, background] = await Promise.all([threadedEmbedder({ modelDir: dir }), threadedEmbedder({ modelDir: dir, background: true })]);
    try {
      expect(normal.nice).toBe(getPriority());
      expect(background.nice).toBe(Math.min(19, getPriority() + 10));
      expect((await background.embed(["still answers"]))[0]!.vector).toHaveLength(background.dimensions);
    } finally {
      await Promise.all([normal.close?.(), background.close?.()]);
    }
  });

  it("refuses a directory without a model, saying where it looked", async () => {
    await expect(threadedEmbedder({ modelDir: "/nonexistent/model" })).rejects.toThrow(/\/nonexistent\/model/);
  });
});
