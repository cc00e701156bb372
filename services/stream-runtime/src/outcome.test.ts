import { describe, expect, it } from "vitest";
import { newRequest, topics, type CostRecord, type LlmRequest } from "@costwise/schemas";
import { deadLetter, emit, output, type Output } from "./outcome.ts";

const req: LlmRequest = newRequest({ request_id: "r1", tenant: "t", use_case: "u", messages: [{ role: "user", content: "hi" }], created_at: 1 });

describe("typed outputs", () => {
  it("takes a topic's own record type, and nothing else (checked by the typecheck: each @ts-expect-error must be an error)", () => {
    const ok: Output[] = [output(topics.ready, req), output(topics.batch, req, "k")];
    // @ts-expect-error a request is not a cost record
    const wrong = output(topics.costRecords, req);
    // @ts-expect-error a literal output is checked against its topic too
    const literal: Output = { topic: topics.responses, value: req };
    // @ts-expect-error the dead-letter topic carries raw bytes, never a record
    const raw = output(topics.deadLetters, req);
    const either = (late: boolean) => (late ? topics.batch : topics.ready);
    ok.push(output(either(true), req));
    expect(ok.map((o) => [o.topic.name, o.key])).toEqual([
      ["llm.requests.ready", undefined], ["llm.requests.batch", "k"], ["llm.requests.batch", undefined],
    ]);
    expect([wrong, literal, raw].map((o) => o.topic.name)).toEqual(["llm.cost-records", "llm.responses", "llm.dlq"]);
  });

  it("builds outcomes as plain data", () => {
    const record = { request_id: "r1" } as CostRecord;
    expect(emit(output(topics.costRecords, record))).toEqual({ outputs: [{ topic: topics.costRecords, value: record }] });
    expect(deadLetter("BAD: why", output(topics.ready, req))).toMatchObject({ deadLetter: "BAD: why", outputs: [{ value: req }] });
  });
});
