import { describe, expect, it } from "vitest";
import avro from "avsc";
import { avroHistory, avroSchemas, newRequest, topics, type LlmRequest } from "@costwise/schemas";
import { AvroSerde, confluentRegistry, wireEncode } from "./serde.ts";
import { SchemaError } from "./errors.ts";

const registryUrl = () => {
  const url = process.env.SCHEMA_REGISTRY_URL;
  if (!url) throw new Error("SCHEMA_REGISTRY_URL is not set: this test needs the local stack's schema registry");
  return url;
};

describe("Avro serde against the real schema registry", () => {
  it("round-trips a request in the Confluent wire format with a stable registered id", async () => {
    const serde = new AvroSerde(confluentRegistry(registryUrl()));
    await serde.init([topics.requests]);
    const req = newRequest({ request_id: "r-1", tenant: "t", use_case: "u", messages: [{ role: "user", content: "héllo ✓" }], tags: { cache: "off" }, created_at: 1_700_000_000_123 });
    const bytes = serde.encode(topics.requests, req);
    expect(bytes[0]).toBe(0);
    const again = new AvroSerde(confluentRegistry(registryUrl()));
    await again.init([topics.requests]);
    expect(again.encode(topics.requests, req).readUInt32BE(1)).toBe(bytes.readUInt32BE(1));
    expect({ ...(await again.decode<LlmRequest>(topics.requests, bytes)) }).toEqual(req);
  });

  it("BACKWARD evolution: the current reader reads records written with the first published schema", async () => {
    const registry = confluentRegistry(registryUrl());
    const v1 = avroHistory.LlmRequest![0]!;
    // Register v1 under a scratch subject: the registry hands out an id for it like for any producer's schema.
    const v1Id = await registry.register(`costwise-test-v1-${Date.now()}-value`, v1);
    const old = { request_id: "old-1", tenant: "t", use_case: "u", messages: [{ role: "user", content: "from an old producer" }], model: "gpt-4o", max_tokens: null, temperature: 0.2, context: [], latency_class: "BATCH", deadline_ms: 5, tags: {}, created_at: 1 };
    const bytes = wireEncode(v1Id, avro.Type.forSchema(v1 as avro.Schema).toBuffer(old));
    const serde = new AvroSerde(registry);
    await serde.init([topics.requests]);
    const read = await serde.decode<LlmRequest>(topics.requests, bytes);
    expect(read).toMatchObject({ ...old, pipeline: null });
  });

  it("BACKWARD evolution: a text-only record of the last pre-tools producer decodes with tools, formats and parts at their defaults", async () => {
    const registry = confluentRegistry(registryUrl());
    const previous = avroHistory.LlmRequest!.at(-1)!;
    const id = await registry.register(`costwise-test-v4-${Date.now()}-value`, previous);
    const old = { request_id: "old-4", tenant: "t", use_case: "u", messages: [{ role: "user", content: "no tools here" }], model: "gpt-4o", max_tokens: 9, temperature: 0, context: [], latency_class: "REALTIME" as const, deadline_ms: null, tags: {}, created_at: 2, pipeline: null };
    const serde = new AvroSerde(registry);
    await serde.init([topics.requests, topics.responses]);
    const read = await serde.decode<LlmRequest>(topics.requests, wireEncode(id, avro.Type.forSchema(previous as avro.Schema).toBuffer(old)));
    expect(read).toEqual(newRequest(old));
    // And a v1 response (before finish_reason and tool calls) reads with none.
    const respV1 = avroHistory.LlmResponse![0]!;
    const respId = await registry.register(`costwise-test-resp-v1-${Date.now()}-value`, respV1);
    const oldResp = { request_id: "old-4", tenant: "t", use_case: "u", status: "OK", content: "hi", error: null, error_code: null, model: "gpt-4o", provider: "openai", served_by: "REALTIME", input_tokens: 1, cached_input_tokens: 0, output_tokens: 1, cost_usd: 0, latency_ms: 1, cache_source_request_id: null, created_at: 3 };
    const resp = await serde.decode<Record<string, unknown>>(topics.responses, wireEncode(respId, avro.Type.forSchema(respV1 as avro.Schema).toBuffer(oldResp)));
    expect(resp).toMatchObject({ ...oldResp, finish_reason: null, tool_calls: [], refusal: null, reasoning_tokens: 0 });
  });

  it("the registry accepts the current response schema as BACKWARD compatible with its first version", async () => {
    const subject = `costwise-test-resp-compat-${Date.now()}-value`;
    const base = registryUrl();
    const post = (path: string, schema: object) =>
      fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/vnd.schemaregistry.v1+json" }, body: JSON.stringify({ schema: JSON.stringify(schema) }) });
    expect((await post(`/subjects/${subject}/versions`, avroHistory.LlmResponse![0]!)).status).toBe(200);
    await fetch(`${base}/config/${subject}`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ compatibility: "BACKWARD" }) });
    const res = await post(`/compatibility/subjects/${subject}/versions/latest`, avroSchemas.LlmResponse);
    expect(((await res.json()) as { is_compatible: boolean }).is_compatible).toBe(true);
  });

  it("the registry itself accepts the current schema as BACKWARD compatible with v1", async () => {
    const subject = `costwise-test-compat-${Date.now()}-value`;
    const base = registryUrl();
    const post = (path: string, schema: object) =>
      fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/vnd.schemaregistry.v1+json" }, body: JSON.stringify({ schema: JSON.stringify(schema) }) });
    expect((await post(`/subjects/${subject}/versions`, avroHistory.LlmRequest![0]!)).status).toBe(200);
    await fetch(`${base}/config/${subject}`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ compatibility: "BACKWARD" }) });
    const res = await post(`/compatibility/subjects/${subject}/versions/latest`, avroSchemas.LlmRequest);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { is_compatible: boolean }).is_compatible).toBe(true);
  });

  it("rejects bytes that are not in the wire format, and unknown schema ids, as SchemaError (poison)", async () => {
    const serde = new AvroSerde(confluentRegistry(registryUrl()));
    await serde.init([topics.requests]);
    await expect(serde.decode(topics.requests, Buffer.from("{\"json\":true}"))).rejects.toBeInstanceOf(SchemaError);
    await expect(serde.decode(topics.requests, wireEncode(987_654_321, Buffer.from([1, 2, 3])))).rejects.toBeInstanceOf(SchemaError);
  });
});
