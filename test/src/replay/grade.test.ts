import { NOT_IN_CONTEXT, outcomeText, readerAnswer } from "@costwise/emulator";
import type { LlmResponse } from "@costwise/schemas";
import { describe, expect, it } from "vitest";
import { readDataFile } from "./data.ts";
import { gradeResponse, knownRouterTexts } from "./grade.ts";
import { buildItem } from "./workload.ts";

const jsonl = (...rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const [card, oos] = readDataFile("c.jsonl", jsonl({ id: "b:1", text: "Where is my card?", intent: "card_arrival" }, { id: "o:1", text: "Capital of Peru?", intent: "oos", is_oos: true })).map((r, i) => buildItem(r, `c-${i}`, 0));
const [mt] = readDataFile("m.jsonl", jsonl({
  id: "mt:1", benchmark: "mt_bench", prompt: "Write a poem.", turn: 1, strong_model: "gpt-4", weak_model: "mixtral", score_type: "judge_1_10",
  models: { "gpt-4": { score: 10, response_chars: 200 }, mixtral: { score: 5.5, response_chars: 100 } },
})).map((r) => buildItem(r, "m-0", 0));
const [kb] = readDataFile("x.jsonl", jsonl({ id: "x:1", question: "Who came?", answers: ["Rollo", "Duke Rollo"], passages: [{ title: "N", text: "Rollo came." }] })).map((r) => buildItem(r, "x-0", 0));

const response = (content: string | null, status: "OK" | "ERROR" = "OK") => ({ status, content }) as LlmResponse;
const texts = knownRouterTexts([mt!]);

describe("grading a response from the data", () => {
  it("gives a router row the recorded score of the outcome it carries", () => {
    if (mt!.truth.kind !== "router") throw new Error("router truth expected");
    expect(gradeResponse(mt!, response(outcomeText("mt:1", "strong", mt!.truth.strong)), texts)).toEqual({ grade: 1, recognised: true });
    expect(gradeResponse(mt!, response(outcomeText("mt:1", "weak", mt!.truth.weak)), texts).grade).toBeCloseTo(0.5);
    expect(gradeResponse(mt!, response("Regarding your poem: …"), texts)).toEqual({ grade: 0, recognised: false });
  });

  it("grades a cache answer right only for the same intent, and never another query's out-of-scope answer", () => {
    expect(gradeResponse(card!, response("[intent: card_arrival]\nIt is on its way."), texts)).toEqual({ grade: 1, recognised: true });
    expect(gradeResponse(card!, response("[intent: lost_card]\nBlock it."), texts)).toEqual({ grade: 0, recognised: true });
    expect(gradeResponse(oos!, response("[out of scope: o:1]\nLima."), texts).grade).toBe(1);
    expect(gradeResponse(oos!, response("[out of scope: o:2]\nLima."), texts).grade).toBe(0);
    expect(gradeResponse(oos!, response("[intent: oos]\nLima."), texts).grade).toBe(0);
    expect(gradeResponse(card!, response("Some other text"), texts).recognised).toBe(false);
  });

  it("grades a reader answer by whether it gives a gold answer", () => {
    expect(gradeResponse(kb!, response(readerAnswer("Duke Rollo")), texts)).toEqual({ grade: 1, recognised: true });
    expect(gradeResponse(kb!, response(NOT_IN_CONTEXT), texts)).toEqual({ grade: 0, recognised: true });
    expect(gradeResponse(kb!, response(readerAnswer("Charles")), texts)).toEqual({ grade: 0, recognised: true });
  });

  it("gives an error response nothing", () => {
    expect(gradeResponse(card!, response(null, "ERROR"), texts)).toEqual({ grade: 0, recognised: true });
  });
});
