import avro from "avsc";
import { describe, expect, it } from "vitest";
import { avroHistory, avroSchemas } from "./avro.ts";
import type { RecordName } from "./types.ts";

/** A value of the schema's own shape: avsc's random generator fills every field of the old version. */
describe("published schema versions", () => {
  for (const [name, versions] of Object.entries(avroHistory) as [RecordName, object[]][]) {
    versions.forEach((old, i) => {
      it(`${name} v${i + 1} records decode with the current reader, new fields at their defaults`, () => {
        const writer = avro.Type.forSchema(old as avro.Schema);
        const reader = avro.Type.forSchema(avroSchemas[name] as avro.Schema);
        const resolver = reader.createResolver(writer);
        const oldFields = new Set((writer as avro.types.RecordType).fields.map((f) => f.name));
        const added = (reader as avro.types.RecordType).fields.filter((f) => !oldFields.has(f.name));
        for (let n = 0; n < 5; n++) {
          const value = writer.random();
          const decoded = reader.fromBuffer(writer.toBuffer(value), resolver) as Record<string, unknown>;
          for (const f of added) expect(decoded[f.name], `${name}.${f.name}`).toEqual(f.defaultValue());
        }
      });
    });
  }

  it("a text-only record of the last request version decodes with tools, formats and parts at their defaults", () => {
    const versions = avroHistory.LlmRequest!;
    const writer = avro.Type.forSchema(versions.at(-1) as avro.Schema);
    const reader = avro.Type.forSchema(avroSchemas.LlmRequest as avro.Schema);
    const old = {
      request_id: "old", tenant: "t", use_case: "u", messages: [{ role: "user", content: "hi" }], model: "gpt-4o", max_tokens: 5, temperature: null, context: [],
      latency_class: "REALTIME", deadline_ms: null, tags: {}, created_at: 1, pipeline: null,
    };
    const read = reader.fromBuffer(writer.toBuffer(old), reader.createResolver(writer)) as Record<string, unknown>;
    expect(read).toMatchObject({ ...old, tools: [], tool_choice: null, response_format: null, stop: [], seed: null, metadata: {} });
    expect((read.messages as object[])[0]).toEqual({ role: "user", content: "hi", parts: [], tool_calls: [], tool_call_id: null });
  });

  it("a response written before tool calls reads with no tool calls and no finish reason", () => {
    const writer = avro.Type.forSchema(avroHistory.LlmResponse![0] as avro.Schema);
    const reader = avro.Type.forSchema(avroSchemas.LlmResponse as avro.Schema);
    const read = reader.fromBuffer(writer.toBuffer(writer.random()), reader.createResolver(writer)) as Record<string, unknown>;
    expect(read).toMatchObject({ finish_reason: null, tool_calls: [], refusal: null, reasoning_tokens: 0, cache_write_input_tokens: 0 });
  });

  it("include the cost record's version before the token-class fields", () => {
    const v1 = avroHistory.CostRecord?.[0] as { fields: { name: string }[] } | undefined;
    expect(v1?.fields.map((f) => f.name)).not.toContain("unpriced");
  });
});
