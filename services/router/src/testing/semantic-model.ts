import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DENSE_FEATURES, FEATURE_VERSION } from "../features.ts";
import { buildCalibration, type LabelledScore } from "../semantic/calibration.ts";
import { SEMANTIC_FORMAT, type Calibration, type SemanticModel } from "../semantic/model.ts";

/** Rows where a higher score means the strong model is needed more: strong always right, weak right below 0.6. */
export function ladder(n: number): LabelledScore[] {
  return Array.from({ length: n }, (_, i) => {
    const score = i / n;
    return { score, strong: 1, weak: score < 0.6 ? 1 : 0, group: `g${i}` };
  });
}

/**
 * A 4-dimensional semantic model file on embedder "test:emb" (score = sigmoid(6·v0 − 2): a request
 * embedded along dimension 0 needs the frontier), written to a temporary directory.
 */
export function writeSemanticModel(calibration: Calibration = buildCalibration(ladder(200)), over: Partial<SemanticModel> = {}): string {
  const dims = 4;
  const model: SemanticModel = {
    format: SEMANTIC_FORMAT, version: "test-v1", embedding: { model: "test:emb", dimensions: dims }, featureVersion: FEATURE_VERSION,
    bias: -2, embeddingWeights: [6, 0, 0, 0],
    dense: { names: [...DENSE_FEATURES], mean: DENSE_FEATURES.map(() => 0), std: DENSE_FEATURES.map(() => 1), weights: DENSE_FEATURES.map(() => 0) },
    hyper: {}, training: { files: [], rowIdsSha256: "x", rowIds: [], rows: 200, groups: 200, positives: 80, trainedAt: "2026-12-01T00:00:00Z" },
    calibration, ...over,
  };
  const dir = mkdtempSync(path.join(tmpdir(), "semantic-"));
  const file = path.join(dir, "m.json");
  writeFileSync(file, JSON.stringify(model));
  return file;
}
