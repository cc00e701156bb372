import { describe, expect, it } from "vitest";
import { datasetName, detectKind, readDataFile, ReplayDataError } from "./data.ts";

const cache = { id: "b:1", dataset: "banking77", text: "Where is my card?", intent: "card_arrival", is_oos: false, meta: {} };
const router = { id: "g:1", benchmark: "gsm8k", prompt: "2+2?", turn: 1, strong_model: "s", weak_model: "w", score_type: "binary_correct", models: { s: { score: 1, response: "4", response_chars: 1 }, w: { score: 0, response: "5", response_chars: 1 } } };
const compress = { id: "x:1", question: "Who?", answers: ["Rollo"], passages: [{ title: "N", text: "Rollo came." }] };
const jsonl = (...rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";

describe("replay data files", () => {
  it("recognises each format by its fields and names the dataset after its folder", () => {
    expect(detectKind(cache)).toBe("cache");
    expect(detectKind(router)).toBe("router");
    expect(detectKind(compress)).toBe("compress");
    expect(detectKind({ id: "w", t_arrival_s: 1 })).toBeNull();
    expect(datasetName("/data/cache_banking77/dev.jsonl")).toBe("cache_banking77");
    expect(datasetName("fixtures/router_routellm_gsm8k.jsonl")).toBe("router_routellm_gsm8k");
    const rows = readDataFile("d/cache_x/dev.jsonl", jsonl(cache, { ...cache, id: "b:2" }));
    expect(rows.map((r) => [r.kind, r.dataset, r.line, r.row.id])).toEqual([["cache", "cache_x", 1, "b:1"], ["cache", "cache_x", 2, "b:2"]]);
  });

  it("rejects an unknown format naming the file", () => {
    expect(() => readDataFile("w/dev.jsonl", jsonl({ id: "w:1", t_arrival_s: 0.5 }))).toThrow(/w\/dev\.jsonl:1: unknown format/);
  });

  it("rejects a row missing a field its kind needs, naming file, line, row and field", () => {
    const { answers: _a, ...noAnswers } = compress;
    const run = () => readDataFile("c.jsonl", jsonl(compress, { ...noAnswers, id: "x:2" }));
    expect(run).toThrow(ReplayDataError);
    expect(run).toThrow(/c\.jsonl:2 \(row x:2\): not a valid compress row: answers: Required/);
    expect(() => readDataFile("r.jsonl", jsonl({ ...router, models: { s: { score: "high" } } }))).toThrow(/r\.jsonl:1 \(row g:1\).*models\.s\.score/);
  });

  it("rejects broken JSON, empty files and duplicate ids", () => {
    expect(() => readDataFile("a.jsonl", "{nope\n")).toThrow(/a\.jsonl:1: not JSON/);
    expect(() => readDataFile("a.jsonl", "\n")).toThrow(/a\.jsonl: no rows/);
    expect(() => readDataFile("a.jsonl", jsonl(cache, cache))).toThrow(/a\.jsonl:2: duplicate row id b:1/);
  });
});
