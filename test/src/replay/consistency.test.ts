import type { LlmResponse } from "@costwise/schemas";
import { describe, expect, it } from "vitest";
import type { CallRow } from "./aggregate.ts";
import { checkAnswered, checkConsistent, ReplayError } from "./consistency.ts";

const ids = ["r-1", "r-2", "r-3"];
const resp = (model: string) => ({ status: "OK", model, content: "x" }) as LlmResponse;
const call = (model: string | null, served = "REALTIME") => ({ served_by: served, model_used: model }) as CallRow;
const good = {
  ids,
  got: new Map(ids.map((id) => [id, resp("gpt-4o")])),
  answerCounts: new Map(ids.map((id) => [id, 1])),
  calls: new Map(ids.map((id) => [id, call("gpt-4o")])),
  grades: new Map(ids.map((id) => [id, { grade: 1, recognised: true }])),
  database: "costwise",
};

describe("replay consistency checks", () => {
  it("accepts a run where every request has one answer and one agreeing cost record", () => {
    expect(() => checkConsistent(good)).not.toThrow();
    const hit = { ...good, calls: new Map([...good.calls, ["r-2", call(null, "CACHE_SEMANTIC")]]) };
    expect(() => checkConsistent(hit)).not.toThrow();
  });

  it("names the requests the pipeline lost", () => {
    const got = new Map([["r-1", resp("gpt-4o")]]);
    expect(() => checkAnswered(ids, got)).toThrow(ReplayError);
    expect(() => checkAnswered(ids, got)).toThrow("the pipeline lost 2 of 3 requests (no response): r-2, r-3");
  });

  it("names requests without a cost record", () => {
    const calls = new Map([["r-1", call("gpt-4o")]]);
    expect(() => checkConsistent({ ...good, calls })).toThrow(/2 of 3 requests have no cost record in costwise\.llm_calls: r-2, r-3/);
  });

  it("refuses a run another pipeline interfered with", () => {
    expect(() => checkConsistent({ ...good, answerCounts: new Map([["r-3", 2]]) })).toThrow(/1 requests answered more than once.*r-3/);
    expect(() => checkConsistent({ ...good, calls: new Map([...good.calls, ["r-1", call("gpt-4o-mini")]]) })).toThrow(/1 whose response and cost record name different models.*r-1/);
    expect(() => checkConsistent({ ...good, grades: new Map([...good.grades, ["r-2", { grade: 0, recognised: false }]]) })).toThrow(/1 responses are not answers of this replay's emulator.*r-2/);
  });
});
