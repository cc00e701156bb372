import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { localEmbedder } from "./local.ts";
import { localModelDir } from "./model-dir.ts";

/** Vectors the transformers.js feature-extraction pipeline gave for these texts (see `source` in the file). */
const reference = JSON.parse(readFileSync(new URL("./fixtures/reference-vectors.json", import.meta.url), "utf8")) as {
  source: string;
  texts: string[];
  models: Record<string, number[][]>;
};

function modelDir(model: string): string {
  const dir = localModelDir(model);
  // `npm test` starts with stack:up, which fetches every model the stack serves.
  if (!existsSync(path.join(dir, "onnx", "model.onnx"))) throw new Error(`${model} is not at ${dir}: run npm run stack:up (it fetches the models)`);
  return dir;
}

describe.each(Object.keys(reference.models))("local embedder, %s", (model) => {
  it("gives the reference vectors, texts of every length in one call (empty, unicode, past the model's length limit)", async () => {
    const e = await localEmbedder({ modelDir: modelDir(model) });
    try {
      const out = await e.embed(reference.texts);
      expect(out).toHaveLength(reference.texts.length);
      out.forEach((o, i) => {
        const want = reference.models[model]![i]!;
        expect(o.vector).toHaveLength(want.length);
        let dot = 0;
        let norm = 0;
        for (let k = 0; k < want.length; k++) {
          dot += o.vector[k]! * want[k]!;
          norm += o.vector[k]! * o.vector[k]!;
        }
        expect(Math.sqrt(norm)).toBeCloseTo(1, 5);
        expect(dot, `text ${i}`).toBeGreaterThan(0.99999);
        expect(o.costNanoUsd).toBe(0);
      });
      // One text alone is embedded as in a mixed call: padding does not leak into the vector.
      const [alone] = await e.embed([reference.texts[0]!]);
      let dot = 0;
      for (let k = 0; k < alone!.vector.length; k++) dot += alone!.vector[k]! * out[0]!.vector[k]!;
      expect(dot).toBeGreaterThan(0.99999);
    } finally {
      await e.close?.();
    }
  });
});
