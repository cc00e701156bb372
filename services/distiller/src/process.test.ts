import { describe, expect, it } from "vitest";
import { renderMessages, topics, type DistillSample, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { catalog } from "@costwise/pricing";
import type { ChatPort } from "@costwise/judging";
import { PoisonMessageError, silentLogger, TransientError, type Envelope } from "@costwise/stream-runtime";
import { RowRejectedError } from "@costwise/clickhouse-writer";
import { createDistillerProcess, type DistillerDeps } from "./process.ts";
import type { DistillShadowRow } from "./shadow.ts";
import { memoryJoinStore } from "./store.ts";
import { request, response, triagePolicy } from "./testing/fixtures.ts";

const usage = { inputTokens: 40, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 2 };
const ctx = { logger: silentLogger, signal: new AbortController().signal };
let offset = 0;
const env = <T>(topic: string, value: T): Envelope<T> => ({ value, key: null, topic, partition: 0, offset: String(offset++), headers: {}, receivedAt: 0 });
const ready = (r: LlmRequest) => env<LlmRequest | LlmResponse>(topics.ready.name, r);
const answered = (r: LlmResponse) => env<LlmRequest | LlmResponse>(topics.responses.name, r);

function setup(answer: (model: string) => string | Error = () => "billing") {
  const calls: string[] = [];
  const rows: DistillShadowRow[] = [];
  const chat: ChatPort = {
    chat: async (req) => {
      calls.push(req.model);
      const a = answer(req.model);
      if (a instanceof Error) throw a;
      return { content: a, model: req.model, usage };
    },
  };
  const deps: DistillerDeps = {
    policy: triagePolicy(), store: memoryJoinStore(), writer: { insert: async (_t, r) => void rows.push(...(r as DistillShadowRow[])) }, render: renderMessages,
    chat, catalog, embedder: null, now: () => Date.UTC(2026, 10, 26, 9, 0, 5), joinTtlSeconds: 60, concurrency: 4,
  };
  return { deps, calls, rows, run: createDistillerProcess(deps) };
}

const samplesOf = (outcomes: readonly { outputs: readonly { value: object }[] }[]) => outcomes.flatMap((o) => o.outputs.map((x) => x.value as DistillSample));

describe("distiller process", () => {
  it("joins a prompt with its later answer into one redacted sample and one shadow comparison", async () => {
    const { run, calls, rows } = setup();
    const first = await run([ready(request("p1"))], ctx);
    expect(first[0]!.skipped).toBe("prompt remembered");
    const second = await run([answered(response("p1"))], ctx);
    const [sample] = samplesOf(second);
    expect(sample).toMatchObject({ request_id: "p1", completion: "billing", redactions: { email: 1 } });
    expect(second[0]!.outputs[0]!.topic).toBe(topics.distillSamples);
    expect(calls).toEqual(["gpt-4.1-nano"]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ candidate_model: "gpt-4.1-nano", frontier_model: "gpt-4o", scorer: "exact", agreed: 1, decided: 1, candidate_input_tokens: 40 });
    // gpt-4.1-nano: 40 × $0.10/M + 2 × $0.40/M = 4,000 + 800 nano-USD; gpt-4o: 40 × $2.50/M + 2 × $10/M = 100,000 + 20,000.
    expect(rows[0]!.candidate_cost_nanousd).toBe(4_800);
    expect(rows[0]!.frontier_cost_nanousd).toBe(120_000);
  });

  it("dead-letters the input whose shadow row ClickHouse refuses, keeping its sample, instead of retrying it forever", async () => {
    const { deps } = setup();
    const stored: string[] = [];
    const writer: DistillerDeps["writer"] = {
      async insert(_t, rows) {
        const ids = (rows as DistillShadowRow[]).map((r) => r.request_id);
        if (ids.includes("bad")) throw new RowRejectedError("Cannot parse input");
        stored.push(...ids);
      },
    };
    const run = createDistillerProcess({ ...deps, writer });
    await run([ready(request("ok1")), ready(request("bad"))], ctx);
    const out = await run([answered(response("ok1")), answered(response("bad"))], ctx);
    expect(stored).toEqual(["ok1"]);
    expect(out[0]!.deadLetter).toBeUndefined();
    expect(out[1]!.deadLetter).toMatch(/ClickHouse rejected the row for distill_shadow/);
    expect(samplesOf(out).map((s) => s.request_id)).toEqual(["ok1", "bad"]);
  });

  it("joins an answer that arrives before its prompt", async () => {
    const { run } = setup();
    expect((await run([answered(response("p2"))], ctx))[0]!.skipped).toBe("answer waiting for its prompt");
    expect(samplesOf(await run([ready(request("p2"))], ctx)).map((s) => s.request_id)).toEqual(["p2"]);
  });

  it("scores disagreement, and never calls the candidate twice for a redelivered request", async () => {
    const { run, calls, rows } = setup((m) => (m === "gpt-4.1-nano" ? "account" : "billing"));
    await run([ready(request("p3"))], ctx);
    await run([answered(response("p3"))], ctx);
    await run([answered(response("p3")), ready(request("p3"))], ctx); // both halves redelivered
    expect(calls).toEqual(["gpt-4.1-nano"]);
    expect(rows.map((r) => [r.agreed, r.decided])).toEqual([[0, 1]]);
  });

  it("retries a transient candidate failure (the claim is given back), and drops a refused call", async () => {
    let fail = true;
    const { run, calls, rows } = setup(() => (fail ? new TransientError("503") : "billing"));
    await run([ready(request("p4"))], ctx);
    await expect(run([answered(response("p4"))], ctx)).rejects.toBeInstanceOf(TransientError);
    fail = false;
    await run([answered(response("p4"))], ctx);
    expect(calls).toEqual(["gpt-4.1-nano", "gpt-4.1-nano"]);
    expect(rows).toHaveLength(1);

    const refused = setup(() => new PoisonMessageError("model not found"));
    await refused.run([ready(request("p5"))], ctx);
    const out = await refused.run([answered(response("p5"))], ctx);
    expect(samplesOf(out)).toHaveLength(1); // the capture still happens
    expect(refused.rows).toEqual([]);
  });

  it("captures nothing and shadows nothing for answers that are not the frontier's", async () => {
    const { run, calls } = setup();
    await run([ready(request("p6"))], ctx);
    const out = await run([answered(response("p6", { model: "gpt-4o-mini" }))], ctx);
    expect(samplesOf(out)).toEqual([]);
    expect(out[0]!.skipped).toBe("not captured: not a frontier answer");
    expect(calls).toEqual([]);
  });
});
