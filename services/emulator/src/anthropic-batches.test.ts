import { describe, expect, it } from "vitest";
import { EmulatorOptionsSchema, type BatchTiming } from "./config.ts";
import type { ProviderHttpError } from "./errors.ts";
import { createEmulatorState } from "./state.ts";

const timing: BatchTiming = { validatingMs: 0, inProgressMs: 1000, finalizingMs: 200, expire: false, lineErrorRate: 0 };
const BASE = "http://127.0.0.1:9999";

const request = (customId: string, model = "claude-haiku-4-5", extra: Record<string, unknown> = {}) => ({
  custom_id: customId,
  params: { model, max_tokens: 32, messages: [{ role: "user", content: `Question ${customId}` }], ...extra },
});

type ResultLine = { custom_id: string; result: { type: string; message?: { usage: { service_tier: string } }; error?: { type: string; error: { type: string } } } };
const parse = (jsonl: string): ResultLine[] => jsonl.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as ResultLine);

function setup() {
  return createEmulatorState(EmulatorOptionsSchema.parse({ limits: { anthropicBatchMaxRequests: 50 } })).anthropicBatches;
}

function status(fn: () => unknown): number {
  try {
    fn();
    return 200;
  } catch (error) {
    return (error as ProviderHttpError).statusCode;
  }
}

describe("AnthropicBatchStore", () => {
  it("processes requests, then ends with results in random order and a results_url", () => {
    const store = setup();
    const ids = Array.from({ length: 20 }, (_, i) => `req_${i}`);
    const batch = store.create({ requests: [...ids.map((id) => request(id)), request("bad", "claude-0"), request("nomax", "claude-haiku-4-5", { max_tokens: undefined })] }, timing, 0, BASE);
    expect(batch).toMatchObject({ type: "message_batch", processing_status: "in_progress", results_url: null, request_counts: { processing: 22, succeeded: 0 } });
    expect(batch.id).toMatch(/^msgbatch_01/);
    expect(status(() => store.results(batch.id, 500))).toBe(400);

    expect(store.retrieve(batch.id, 500, BASE).request_counts.processing).toBe(11);
    const ended = store.retrieve(batch.id, 1200, BASE);
    expect(ended).toMatchObject({ processing_status: "ended", request_counts: { processing: 0, succeeded: 20, errored: 2, canceled: 0, expired: 0 } });
    expect(ended.results_url).toBe(`${BASE}/v1/messages/batches/${batch.id}/results`);
    expect(ended.ended_at).toBe(new Date(1200).toISOString());

    const lines = parse(store.results(batch.id, 1300));
    expect(lines).toHaveLength(22);
    expect(lines.map((l) => l.custom_id)).not.toEqual([...ids, "bad", "nomax"]);
    const byId = new Map(lines.map((l) => [l.custom_id, l.result]));
    expect(byId.get("req_3")!.type).toBe("succeeded");
    expect(byId.get("req_3")!.message!.usage.service_tier).toBe("batch");
    expect(byId.get("bad")).toEqual({ type: "errored", error: { type: "error", error: { type: "not_found_error", message: "model: claude-0" } } });
    expect(byId.get("nomax")).toMatchObject({ type: "errored", error: { type: "error", error: { type: "invalid_request_error" } } });
  });

  it("validates custom ids and limits when the batch is created", () => {
    const store = setup();
    expect(status(() => store.create({ requests: [] }, timing, 0, BASE))).toBe(400);
    expect(status(() => store.create({ requests: [request("a"), request("a")] }, timing, 0, BASE))).toBe(400);
    expect(status(() => store.create({ requests: [request("has space")] }, timing, 0, BASE))).toBe(400);
    expect(status(() => store.create({ requests: Array.from({ length: 51 }, (_, i) => request(`r${i}`)) }, timing, 0, BASE))).toBe(400);
    expect(status(() => store.retrieve("msgbatch_nope", 0, BASE))).toBe(404);
  });

  it("cancels: canceling, then ended with the unprocessed remainder canceled", () => {
    const store = setup();
    const batch = store.create({ requests: Array.from({ length: 10 }, (_, i) => request(`r${i}`)) }, timing, 0, BASE);
    const canceling = store.cancel(batch.id, 500, BASE);
    expect(canceling).toMatchObject({ processing_status: "canceling", cancel_initiated_at: new Date(500).toISOString() });
    const ended = store.retrieve(batch.id, 700, BASE);
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 5, errored: 0, canceled: 5, expired: 0 });
    const kinds = parse(store.results(batch.id, 700)).map((l) => l.result.type);
    expect(kinds.filter((k) => k === "canceled")).toHaveLength(5);
    expect(status(() => store.cancel(batch.id, 800, BASE))).toBe(400);
    expect(store.delete(batch.id, 800)).toEqual({ id: batch.id, type: "message_batch_deleted" });
  });

  it("expires the unprocessed half when the window is configured to run out", () => {
    const store = setup();
    const batch = store.create({ requests: Array.from({ length: 10 }, (_, i) => request(`r${i}`)) }, { ...timing, expire: true }, 0, BASE);
    expect(store.retrieve(batch.id, 1000, BASE).request_counts).toEqual({ processing: 0, succeeded: 5, errored: 0, canceled: 0, expired: 5 });
  });

  it("lists newest first with after_id pagination", () => {
    const store = setup();
    const a = store.create({ requests: [request("x")] }, timing, 0, BASE);
    const b = store.create({ requests: [request("x")] }, timing, 0, BASE);
    const first = store.list({ limit: 1 }, 0, BASE);
    expect(first).toMatchObject({ has_more: true, first_id: b.id, last_id: b.id });
    expect(store.list({ limit: 1, after_id: b.id }, 0, BASE).data.map((x) => x.id)).toEqual([a.id]);
  });
});
