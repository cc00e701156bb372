import { describe, expect, it } from "vitest";
import { topics, type DistillSample } from "@costwise/schemas";
import { silentLogger, type Envelope } from "@costwise/stream-runtime";
import { distillSampleRow, TABLES, type RowWriter } from "@costwise/clickhouse-writer";
import { createSinkProcess } from "./process.ts";

const sample: DistillSample = {
  request_id: "d1", tenant: "acme", use_case: "triage", messages: [{ role: "system", content: "Classify." }, { role: "user", content: "Mail [EMAIL] please" }],
  completion: "billing", model: "gpt-4o", provider: "openai", route_tier: null, served_by: "REALTIME", input_tokens: 20, output_tokens: 1,
  prompt_hash: "ab", quality: null, redactions: { email: 1 }, sample_rate: 0.5, created_at: Date.UTC(2026, 10, 26, 8, 0, 0), captured_at: Date.UTC(2026, 10, 26, 8, 0, 2),
};

describe("sink: distill samples", () => {
  it("maps a sample to a distill_samples row with messages and redactions as parallel arrays", () => {
    expect(distillSampleRow(sample, 3)).toMatchObject({
      ts: "2026-11-26 08:00:00", message_roles: ["system", "user"], message_contents: ["Classify.", "Mail [EMAIL] please"],
      route_tier: "", quality: 0, has_quality: 0, redaction_names: ["email"], redaction_counts: [1], version: 3,
    });
  });

  it("writes llm.distill-samples sub-batches to distill_samples", async () => {
    const tables: string[] = [];
    const writer: RowWriter = { insert: async (t) => void tables.push(t) };
    const env: Envelope<DistillSample> = { value: sample, key: "d1", topic: topics.distillSamples.name, partition: 0, offset: "0", headers: {}, receivedAt: 0 };
    await createSinkProcess({ writer, now: () => 1 })([env], { logger: silentLogger, signal: new AbortController().signal });
    expect(tables).toEqual([TABLES.distillSamples]);
  });
});
