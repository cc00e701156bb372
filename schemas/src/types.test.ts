import { describe, expect, it } from "vitest";
import avro from "avsc";
import { avroHistory, avroType } from "./avro.ts";
import type { LlmOutcome, BudgetAlert, BudgetAlertLevel, CacheVerification, CostRecord, DistillSample, LatencyClass, LlmRequest, LlmResponse, RecordName, RecordTypes, ResponseStatus, ServedBy } from "./types.ts";

// Every field of every record set (no null where a value is allowed), so each nested record is
// walked. `satisfies` makes a field missing from or extra to the TypeScript type a compile error;
// the walk below makes a field missing from or extra to the Avro schema a test failure.
const request: LlmRequest = {
  request_id: "r1", tenant: "acme", use_case: "support",
  messages: [
    { role: "user", content: "hi", parts: [{ type: "image", text: "t", image_url: "https://x.test/a.png", detail: "low" }], tool_calls: [{ id: "c0", name: "f", arguments: "{}" }], tool_call_id: "c0" },
  ],
  model: "gpt-4o", max_tokens: 64,
  temperature: 0.5, context: [{ id: "c1", text: "doc", score: 0.25 }], latency_class: "BATCH", deadline_ms: 9_000, tags: { team: "a" }, created_at: 1_000,
  tools: [{ name: "f", description: "d", parameters: '{"type":"object"}', strict: true }], tool_choice: { mode: "tool", name: "f" }, parallel_tool_calls: false,
  response_format: { type: "json_schema", name: "s", schema: '{"type":"object"}', strict: true }, stop: ["END"], seed: 7, top_p: 0.9,
  presence_penalty: 0.1, frequency_penalty: 0.2, reasoning_effort: "low", user: "u-1", metadata: { app: "x" },
  pipeline: {
    stage_ms: { cache: 2 }, overhead_cost_nanousd: 7, overhead: { embedding: 7 },
    route: { tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "rules", score: 0.5, reason: "short", shadow: true, substituted_from: "gpt-4o-2024-05-13", cascade: null },
    compression: { strategy: "extractive", context_tokens_before: 100, context_tokens_after: 40, per_strategy_tokens: { extractive: 60 } },
    cache_lookup: "MISS", embedding: { model: "local:m", vector: Buffer.from([0, 0, 128, 63]) },
  },
};
const response = {
  request_id: "r1", tenant: "acme", use_case: "support", status: "OK", content: "hello", error: "e", error_code: "X", model: "gpt-4o", provider: "openai",
  served_by: "CACHE_SEMANTIC", input_tokens: 10, cached_input_tokens: 2, output_tokens: 3, cost_usd: 0.001, latency_ms: 12, cache_source_request_id: "r0", created_at: 1_000,
  finish_reason: "tool_calls", tool_calls: [{ id: "call_1", name: "f", arguments: '{"a":1}' }], refusal: "r", cache_write_input_tokens: 1, reasoning_tokens: 2,
} satisfies LlmResponse;
const costRecord = {
  request_id: "r1", tenant: "acme", use_case: "support", ts: 1_000, completed_at: 1_200, status: "ERROR", error_code: "X", served_by: "BATCH",
  model_requested: "gpt-4o", model_used: "gpt-4o-mini", provider: "openai", route_tier: "small", route_strategy: "rules", route_score: 0.5,
  input_tokens: 10, cached_input_tokens: 2, cache_write_input_tokens: 1, output_tokens: 3, context_tokens_before: 100, context_tokens_after: 40,
  compression_strategy: "extractive", cost_nanousd: 5, overhead_cost_nanousd: 1, baseline_cost_nanousd: 9, saving_cache_nanousd: 0, saving_routing_nanousd: 2,
  saving_compression_nanousd: 1, saving_batch_nanousd: 1, price_catalog_version: "v", latency_ms: 200, stage_latency_ms: { batch: 150 }, attempts: 2,
  batch_id: "b1", queue_delay_ms: 30, cache_source_request_id: "r0", substituted_from: "claude-sonnet-4-5",
  reasoning_tokens: 2, cache_write_1h_input_tokens: 1, unpriced: false, saving_prompt_cache_nanousd: 3,
} satisfies CostRecord;
const alert = {
  alert_id: "a1", tenant: "acme", use_case: "support", month: "2026-11", budget_nanousd: 100, spent_nanousd: 50, projected_nanousd: 120, threshold: 0.8,
  level: "PROJECTED", message: "m", created_at: 1_000,
} satisfies BudgetAlert;
const sample = {
  request_id: "r1", tenant: "acme", use_case: "support", messages: [{ role: "user", content: "[EMAIL]" }], completion: "ok", model: "gpt-4o", provider: "openai",
  route_tier: "frontier", served_by: "REALTIME", input_tokens: 5, output_tokens: 1, prompt_hash: "ab", quality: 0.9, redactions: { email: 1 }, sample_rate: 0.5,
  created_at: 1_000, captured_at: 1_001,
} satisfies DistillSample;

const verification = {
  request_id: "r2", tenant: "acme", use_case: "support", entry_ref: "e1", fresh_ref: null, similarity: 0.91, explored: true,
  query: "where is my card", answer: "It is on its way.", embedder: "local:bge-small-en-v1.5-q", created_at: 1_002, neighbourhood: "agree",
} satisfies CacheVerification;

const outcome = {
  request_id: "r1", tenant: "acme", use_case: "support", success: true, score: 0.75, source: "user", created_at: 1_003, comment: "thanks",
} satisfies LlmOutcome;

const full: { [K in RecordName]: RecordTypes[K] } = { LlmRequest: request, LlmResponse: response, CostRecord: costRecord, BudgetAlert: alert, DistillSample: sample, CacheVerification: verification, LlmOutcome: outcome };

/** Field names of each record the value passes through, compared with the schema's, at every depth. */
function walk(type: avro.Type, value: unknown, path: string, mismatches: string[]): void {
  if (type.typeName === "record") {
    const fields = (type as avro.types.RecordType).fields.map((f) => f.name).sort();
    const keys = Object.keys(value as object).sort();
    if (JSON.stringify(fields) !== JSON.stringify(keys)) mismatches.push(`${path}: Avro ${fields.join(",")} vs TypeScript ${keys.join(",")}`);
    for (const f of (type as avro.types.RecordType).fields) walk(f.type, (value as Record<string, unknown>)[f.name], `${path}.${f.name}`, mismatches);
  } else if (type.typeName.startsWith("union")) {
    const branch = (type as avro.types.UnwrappedUnionType).types.find((t) => t.isValid(value));
    if (branch) walk(branch, value, path, mismatches);
  } else if (type.typeName === "array") {
    (value as unknown[]).forEach((x, i) => walk((type as avro.types.ArrayType).itemsType, x, `${path}[${i}]`, mismatches));
  } else if (type.typeName === "map") {
    for (const [k, x] of Object.entries(value as object)) walk((type as avro.types.MapType).valuesType, x, `${path}.${k}`, mismatches);
  }
}

describe("TypeScript records and their Avro schemas agree", () => {
  it.each(Object.keys(full) as RecordName[])("%s: every field in both, every value valid, and it round-trips", (name) => {
    const type = avroType(name);
    const value = full[name];
    const invalid: string[] = [];
    type.isValid(value, { errorHook: (p) => invalid.push(p.join(".")) });
    expect(invalid).toEqual([]);
    const mismatches: string[] = [];
    walk(type, value, name, mismatches);
    expect(mismatches).toEqual([]);
    expect(type.fromBuffer(type.toBuffer(value))).toEqual(value);
  });

  it("every nullable TypeScript field accepts null in Avro", () => {
    const nullable: { [K in RecordName]?: string[] } = {
      LlmRequest: ["model", "max_tokens", "temperature", "deadline_ms", "pipeline", "tool_choice", "parallel_tool_calls", "response_format", "seed", "top_p", "presence_penalty", "frequency_penalty", "reasoning_effort", "user"],
      LlmResponse: ["content", "error", "error_code", "model", "provider", "cache_source_request_id", "finish_reason", "refusal"],
      CostRecord: ["error_code", "model_requested", "model_used", "provider", "route_tier", "route_strategy", "route_score", "compression_strategy", "batch_id", "cache_source_request_id", "substituted_from"],
      BudgetAlert: ["use_case"],
      DistillSample: ["provider", "route_tier", "quality"],
      LlmOutcome: ["success", "score", "comment"],
    };
    for (const [name, fields] of Object.entries(nullable) as [RecordName, string[]][]) {
      const value = { ...full[name], ...Object.fromEntries(fields.map((f) => [f, null])) };
      const type = avroType(name);
      expect(type.fromBuffer(type.toBuffer(value)), name).toEqual(value);
    }
  });

  it("current schemas read every earlier published version (BACKWARD)", () => {
    for (const [name, versions] of Object.entries(avroHistory) as [RecordName, object[]][]) {
      for (const old of versions) expect(() => avroType(name).createResolver(avro.Type.forSchema(old as avro.Schema)), name).not.toThrow();
    }
  });

  it("enum symbols are the TypeScript unions", () => {
    const symbols = (name: RecordName, field: string) => {
      const t = (avroType(name) as avro.types.RecordType).fields.find((f) => f.name === field)!.type as avro.types.EnumType;
      return [...t.symbols].sort();
    };
    const latency: Record<LatencyClass, true> = { REALTIME: true, BATCH: true };
    const status: Record<ResponseStatus, true> = { OK: true, ERROR: true };
    const servedBy: Record<ServedBy, true> = { REALTIME: true, BATCH: true, CACHE_EXACT: true, CACHE_SEMANTIC: true };
    const level: Record<BudgetAlertLevel, true> = { PROJECTED: true, EXCEEDED: true, QUALITY_REGRESSION: true, UNPRICED: true };
    expect(symbols("LlmRequest", "latency_class")).toEqual(Object.keys(latency).sort());
    expect(symbols("LlmResponse", "status")).toEqual(Object.keys(status).sort());
    expect(symbols("LlmResponse", "served_by")).toEqual(Object.keys(servedBy).sort());
    expect(symbols("CostRecord", "status")).toEqual(Object.keys(status).sort());
    expect(symbols("BudgetAlert", "level")).toEqual(Object.keys(level).sort());
  });
});
