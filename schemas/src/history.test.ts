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

  it("include the cost record's version before the token-class fields", () => {
    const v1 = avroHistory.CostRecord?.[0] as { fields: { name: string }[] } | undefined;
    expect(v1?.fields.map((f) => f.name)).not.toContain("unpriced");
  });
});
