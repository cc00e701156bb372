import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ClassifierModelError } from "./errors.ts";
import { loadClassifierModel, predict, trainClassifier, validateClassifierModel } from "./classifier.ts";
import { routeInputFromTurns } from "./input.ts";
import { SHIPPED_MODEL } from "./testing/fixtures.ts";

const hard = ["Prove that the integral of x squared from 0 to 3 equals 9", "Solve the equation 3x + 7 = 22 for x", "Implement a function to merge two sorted arrays in Python", "Calculate the probability of rolling two sixes"];
const easy = ["Write a short poem about the sea", "Say hello to my friend Anna", "Rewrite this sentence more politely please", "Suggest a name for a cat"];
const examples = [...hard.map((t) => ({ input: routeInputFromTurns([t]), label: 1 as const })), ...easy.map((t) => ({ input: routeInputFromTurns([t]), label: 0 as const }))];

describe("classifier", () => {
  it("learns to separate what needs the strong model from what does not", () => {
    const m = trainClassifier(examples, { iterations: 200, hashBits: 8 });
    for (const t of hard) expect(predict(m, routeInputFromTurns([t]))).toBeGreaterThan(0.5);
    for (const t of easy) expect(predict(m, routeInputFromTurns([t]))).toBeLessThan(0.5);
  });

  it("is deterministic: the same data gives the same model file", () => {
    expect(JSON.stringify(trainClassifier(examples, { iterations: 30, hashBits: 6 }))).toBe(JSON.stringify(trainClassifier(examples, { iterations: 30, hashBits: 6 })));
  });

  it("the committed model loads, records its training files, and scores in 0..1", () => {
    const m = loadClassifierModel(SHIPPED_MODEL);
    expect(m.version).toBe("router-classifier-v1");
    expect((m.training as { files: { file: string }[] }).files.map((f) => f.file)).toEqual(["router_routellm_mmlu/dev.jsonl", "router_routellm_gsm8k/dev.jsonl", "router_routellm_mtbench/dev.jsonl"]);
    const p = predict(m, routeInputFromTurns(["What are your opening hours?"]));
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1);
  });

  it("refuses a model built for other features or of the wrong shape", () => {
    const raw = JSON.parse(readFileSync(SHIPPED_MODEL, "utf8")) as Record<string, unknown>;
    expect(() => validateClassifierModel({ ...raw, featureVersion: 99 }, "m.json")).toThrow(/trained on feature version 99.*retrain it with npm run train:router/);
    expect(() => validateClassifierModel({ ...raw, hashedWeights: [1, 2] }, "m.json")).toThrow(ClassifierModelError);
    expect(() => validateClassifierModel({ format: "other" }, "m.json")).toThrow(/classifier model m.json is malformed/);
  });
});
