import { describe, expect, it } from "vitest";
import { newRequest, topics, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { DLQ_HEADERS } from "./dead-letter.ts";
import { TransientError, PoisonMessageError } from "./errors.ts";
import { silentLogger } from "./logger.ts";
import { StreamMetrics } from "./metrics.ts";
import { deadLetter, emit, output } from "./outcome.ts";
import { startService } from "./service.ts";
import { loadBaseConfig } from "./config.ts";
import { MemoryBroker, memorySerde } from "./testing/memory-transport.ts";
import type { ProcessFn } from "./types.ts";

const serde = memorySerde();
const req = (id: string, content = "hello") => newRequest({ request_id: id, tenant: "t", use_case: "u", messages: [{ role: "user", content }], created_at: 1_700_000_000_000 });
const answer = (r: LlmRequest, content: string): LlmResponse => ({
  request_id: r.request_id, tenant: r.tenant, use_case: r.use_case, status: "OK", content, error: null, error_code: null,
  model: "m", provider: "p", served_by: "REALTIME", input_tokens: 1, cached_input_tokens: 0, output_tokens: 1, cost_usd: 0,
  latency_ms: 0, cache_source_request_id: null, created_at: r.created_at,
});

async function run(broker: MemoryBroker, process: ProcessFn<LlmRequest>, opts: { attempts?: number; concurrency?: number } = {}) {
  const consumer = broker.consumer([topics.requests.name], { batchSize: 10 });
  const svc = await startService<LlmRequest>({
    name: "test", input: topics.requests, outputs: [topics.responses], process, logger: silentLogger,
    metrics: new StreamMetrics("test", { defaultMetrics: false }),
    config: loadBaseConfig({ RETRY_ATTEMPTS: String(opts.attempts ?? 3), RETRY_INITIAL_MS: "1", RETRY_MAX_MS: "2", SUB_BATCH_SIZE: "4", CONCURRENCY: String(opts.concurrency ?? 8) }),
    transport: { consumer, producer: broker.producer(), serde },
  });
  await consumer.drained();
  await svc.stop();
  return { svc, consumer };
}

const responses = async (broker: MemoryBroker) =>
  Promise.all(broker.produced(topics.responses.name).map((m) => serde.decode<LlmResponse>(topics.responses, m.value!)));

describe("the stream loop", () => {
  it("produces one output per input, keyed by request_id, in input order, and commits everything", async () => {
    const broker = new MemoryBroker();
    for (let i = 0; i < 23; i++) broker.push(topics.requests.name, serde.encode(topics.requests, req(`r${i}`)), { key: `r${i}` });
    // later inputs finish first: order must still hold
    await run(broker, async (r) => {
      await new Promise((res) => setTimeout(res, 20 - Number(r.request_id.slice(1)) % 5 * 4));
      return emit(output(topics.responses, answer(r, `a-${r.request_id}`)));
    });
    const out = await responses(broker);
    expect(out.map((r) => r.request_id)).toEqual(Array.from({ length: 23 }, (_, i) => `r${i}`));
    expect(broker.produced(topics.responses.name).map((m) => m.key?.toString())).toEqual(out.map((r) => r.request_id));
    expect(broker.committed.get(topics.requests.name)).toBe(23);
  });

  it("dead-letters poison bytes with the original bytes and the reason, and keeps going", async () => {
    const broker = new MemoryBroker();
    broker.push(topics.requests.name, serde.encode(topics.requests, req("ok1")), { key: "ok1" });
    broker.push(topics.requests.name, Buffer.from("not avro at all"), { key: "bad", headers: { trace: "x1" } });
    broker.push(topics.requests.name, serde.encode(topics.requests, req("ok2")), { key: "ok2" });
    await run(broker, async (r) => emit(output(topics.responses, answer(r, "fine"))));
    const dlq = broker.produced(topics.deadLetters.name);
    expect(dlq).toHaveLength(1);
    expect(dlq[0]!.value!.toString()).toBe("not avro at all");
    expect(dlq[0]!.key!.toString()).toBe("bad");
    expect(dlq[0]!.headers.trace).toBe("x1");
    expect(String(dlq[0]!.headers[DLQ_HEADERS.reason])).toMatch(/undecodable input: SchemaError: not in the Confluent wire format/);
    expect(dlq[0]!.headers[DLQ_HEADERS.offset]).toBe("1");
    expect((await responses(broker)).map((r) => r.request_id)).toEqual(["ok1", "ok2"]);
    expect(broker.committed.get(topics.requests.name)).toBe(3);
  });

  it("passes over inputs whose key is not accepted, undecoded (poison included), and still commits them", async () => {
    const broker = new MemoryBroker();
    broker.push(topics.requests.name, serde.encode(topics.requests, req("mine-1")), { key: "mine-1" });
    broker.push(topics.requests.name, Buffer.from("someone else's poison"), { key: "theirs-1" });
    broker.push(topics.requests.name, serde.encode(topics.requests, req("theirs-2")), { key: "theirs-2" });
    broker.push(topics.requests.name, serde.encode(topics.requests, req("mine-2")), { key: "mine-2" });
    const seen: string[] = [];
    const consumer = broker.consumer([topics.requests.name], { batchSize: 10 });
    const svc = await startService<LlmRequest>({
      name: "test", input: topics.requests, outputs: [topics.responses], logger: silentLogger,
      process: async (r) => (seen.push(r.request_id), emit(output(topics.responses, answer(r, "ok")))),
      acceptKey: (key) => key?.toString().startsWith("mine-") ?? false,
      metrics: new StreamMetrics("test", { defaultMetrics: false }),
      config: loadBaseConfig({ RETRY_INITIAL_MS: "1", RETRY_MAX_MS: "2" }),
      transport: { consumer, producer: broker.producer(), serde },
    });
    await consumer.drained();
    await svc.stop();
    expect(seen).toEqual(["mine-1", "mine-2"]);
    expect(broker.produced(topics.deadLetters.name)).toHaveLength(0);
    expect(broker.committed.get(topics.requests.name)).toBe(4);
  });

  it("an explicit rejection produces the error response AND a dead-letter record", async () => {
    const broker = new MemoryBroker();
    broker.push(topics.requests.name, serde.encode(topics.requests, req("r1", "")), { key: "r1" });
    await run(broker, async (r) => deadLetter("empty message", output(topics.responses, { ...answer(r, ""), status: "ERROR", content: null, error: "empty message" })));
    expect((await responses(broker))[0]).toMatchObject({ request_id: "r1", status: "ERROR", error: "empty message" });
    expect(broker.produced(topics.deadLetters.name)[0]!.headers[DLQ_HEADERS.reason]).toBe("empty message");
  });

  it("retries transient failures and poison errors thrown by process are dead-lettered, not retried", async () => {
    const broker = new MemoryBroker();
    broker.push(topics.requests.name, serde.encode(topics.requests, req("flaky")), { key: "flaky" });
    broker.push(topics.requests.name, serde.encode(topics.requests, req("poison")), { key: "poison" });
    const calls = new Map<string, number>();
    await run(broker, async (r) => {
      const n = (calls.get(r.request_id) ?? 0) + 1;
      calls.set(r.request_id, n);
      if (r.request_id === "poison") throw new PoisonMessageError("cannot ever work");
      if (n < 3) throw new TransientError("try again");
      return emit(output(topics.responses, answer(r, "third time")));
    });
    expect(calls.get("flaky")).toBe(3);
    expect(calls.get("poison")).toBe(1);
    expect((await responses(broker)).map((r) => r.content)).toEqual(["third time"]);
    expect(broker.produced(topics.deadLetters.name)[0]!.headers[DLQ_HEADERS.reason]).toBe("PoisonMessageError: cannot ever work");
  });

  it("does not commit when outputs cannot be produced, and re-delivers until they are: nothing is lost", async () => {
    const broker = new MemoryBroker();
    for (let i = 0; i < 6; i++) broker.push(topics.requests.name, serde.encode(topics.requests, req(`r${i}`)), { key: `r${i}` });
    broker.failSends = 4; // with 3 attempts per sub-batch, the first sub-batch fails once as a whole
    let commitsSeen: (number | undefined)[] = [];
    const { consumer } = await run(broker, async (r) => {
      commitsSeen.push(broker.committed.get(topics.requests.name));
      return emit(output(topics.responses, answer(r, "x")));
    });
    expect(consumer.failures.length).toBeGreaterThanOrEqual(1);
    const ids = new Set((await responses(broker)).map((r) => r.request_id));
    expect([...ids].sort()).toEqual(["r0", "r1", "r2", "r3", "r4", "r5"]);
    expect(broker.committed.get(topics.requests.name)).toBe(6);
    expect(commitsSeen[0]).toBeUndefined();
  });

  it("an output that violates the contract dead-letters the input instead of producing garbage", async () => {
    const broker = new MemoryBroker();
    broker.push(topics.requests.name, serde.encode(topics.requests, req("r1")), { key: "r1" });
    await run(broker, async (r) => emit(output(topics.responses, { ...answer(r, "x"), status: "MAYBE" } as unknown as LlmResponse)));
    expect(broker.produced(topics.responses.name)).toHaveLength(0);
    expect(String(broker.produced(topics.deadLetters.name)[0]!.headers[DLQ_HEADERS.reason])).toMatch(/output to llm.responses rejected/);
  });
});
