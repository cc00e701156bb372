import { describe, expect, it } from "vitest";
import { parseReplayArgs, UsageError } from "./main.ts";

describe("npm run replay arguments", () => {
  it("takes several data files after one --data, or repeated --data", () => {
    expect(parseReplayArgs(["--data", "a.jsonl", "b.jsonl", "--n", "400"])).toEqual({ data: ["a.jsonl", "b.jsonl"], perFile: 400, seed: 1, out: undefined, concurrency: 8 });
    expect(parseReplayArgs(["--data", "a", "--data", "b", "--seed", "3", "--out", "r.md"])).toMatchObject({ data: ["a", "b"], seed: 3, out: "r.md" });
  });

  it("refuses a missing --data or a bad number", () => {
    expect(() => parseReplayArgs([])).toThrow(UsageError);
    expect(() => parseReplayArgs(["--data", "a", "--n", "0"])).toThrow(/--n must be an integer ≥ 1/);
  });
});
