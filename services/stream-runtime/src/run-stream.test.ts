import { describe, expect, it } from "vitest";
import { newRequest, topics, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { DLQ_HEADERS } from "./dead-letter.ts";
import { TransientError, PoisonMessageError } from "./errors.ts";
import { silentLogger } from "./logger.ts";
import { StreamMetrics } from "./metrics.ts";
import { deadLetter, emit, hold, output, skip } from "./outcome.ts";
import { createBatchHandler, type LoopOptions } from "./run-stream.ts";
import { ServiceHealth } from "./health.ts";
import { startService } from "./service.ts";
import type { BatchHandle, ProducedRecord, ProducerPort } from "./transport.ts";
import { WatermarkCommits } from "./watermark.ts";
import { loadBaseConfig } from "./config.ts";
import { MemoryBroker, memorySerde } from "./testing/memory-transport.ts";
import type { ProcessFn, RawMessage } from "./types.ts";

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
  it("records how old each input was when the stage received it, per input topic", async () => {
    const broker = new MemoryBroker();
    const now = Date.now();
    broker.push(topics.requests.name, serde.encode(topics.requests, req("old")), { key: "old", timestamp: now - 4_000 });
    broker.push(topics.requests.name, serde.encode(topics.requests, req("new")), { key: "new", timestamp: now });
    const consumer = broker.consumer([topics.requests.name], { batchSize: 10 });
    const metrics = new StreamMetrics("test", { defaultMetrics: false });
    const svc = await startService<LlmRequest>({
      name: "test", input: topics.requests, outputs: [topics.responses], process: async (r) => emit(output(topics.responses, answer(r, "a"))), logger: silentLogger,
      metrics, config: loadBaseConfig({}), transport: { consumer, producer: broker.producer(), serde },
    });
    await consumer.drained();
    await svc.stop();
    const age = (await metrics.registry.getSingleMetric("costwise_input_age_seconds")!.get()).values as { metricName?: string; labels: Record<string, string | number>; value: number }[];
    const count = age.find((v) => v.metricName === "costwise_input_age_seconds_count" && v.labels.topic === topics.requests.name)?.value;
    const sum = age.find((v) => v.metricName === "costwise_input_age_seconds_sum" && v.labels.topic === topics.requests.name)?.value ?? 0;
    expect(count).toBe(2);
    expect(sum).toBeGreaterThanOrEqual(4);
    expect(sum).toBeLessThan(10);
  });

  it("produces one output per input, keyed by request_id, and commits everything", async () => {
    const broker = new MemoryBroker();
    for (let i = 0; i < 23; i++) broker.push(topics.requests.name, serde.encode(topics.requests, req(`r${i}`)), { key: `r${i}` });
    await run(broker, async (r) => {
      await new Promise((res) => setTimeout(res, 20 - Number(r.request_id.slice(1)) % 5 * 4));
      return emit(output(topics.responses, answer(r, `a-${r.request_id}`)));
    });
    const out = await responses(broker);
    expect(out.map((r) => r.request_id).sort()).toEqual(Array.from({ length: 23 }, (_, i) => `r${i}`).sort());
    expect(out.map((r) => r.content)).toEqual(out.map((r) => `a-${r.request_id}`));
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

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
const until = async (cond: () => boolean, ms = 3_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 2));
  }
};

/** One partition batch of requests r0…r(n-1) (or the given keys), as the transport hands it over. */
function batchOf(keys: readonly string[]): RawMessage[] {
  const broker = new MemoryBroker();
  keys.forEach((k) => broker.push(topics.requests.name, serde.encode(topics.requests, req(k)), { key: k }));
  return broker.log(topics.requests.name);
}
const idsOf = (n: number) => Array.from({ length: n }, (_, i) => `r${i}`);
const keyOf = (r: LlmRequest) => r.request_id;

/** A batch handle that records what the loop resolves and commits. */
function handleFor(messages: RawMessage[]) {
  const resolved: number[] = [];
  let commits = 0;
  const handle: BatchHandle = {
    topic: topics.requests.name, partition: 0, messages,
    resolveOffset: (o) => void resolved.push(Number(o)),
    heartbeat: async () => undefined,
    commitOffsetsIfNecessary: async () => void commits++,
    isRunning: () => true,
    isStale: () => false,
  };
  return { handle, resolved, commits: () => commits, last: () => resolved.at(-1) };
}

/**
 * A producer that records which request keys are acknowledged, can hold sends carrying a given key
 * until released, and can fail them.
 */
function recordingProducer() {
  const acked: string[] = [];
  const records: ProducedRecord[] = [];
  const sends: string[][] = [];
  const holds = new Map<string, Promise<void>>();
  const failing = new Set<string>();
  const producer: ProducerPort = {
    async send(batch: readonly ProducedRecord[]) {
      const keys = batch.map((r) => r.key ?? "");
      sends.push(keys);
      if (keys.some((k) => failing.has(k))) throw new Error("broker unavailable");
      for (const k of keys) if (holds.has(k)) await holds.get(k);
      acked.push(...keys);
      records.push(...batch);
    },
    close: async () => undefined,
  };
  return { producer, acked, records, sends, holds, failing };
}

function loop(process: ProcessFn<LlmRequest>, producer: ProducerPort, extra: Partial<LoopOptions<LlmRequest>> = {}) {
  return createBatchHandler<LlmRequest>({
    service: "test", process, serde, producer, logger: silentLogger,
    metrics: new StreamMetrics("test", { defaultMetrics: false }),
    retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1, jitter: 0 },
    subBatchSize: 100, concurrency: 8, signal: new AbortController().signal,
    ...extra,
  });
}
const reply = (r: LlmRequest) => emit(output(topics.responses, answer(r, `a-${r.request_id}`)));

describe("the pipelined loop", () => {
  it("a slow input does not delay the outputs of later inputs; its own offset and those after it wait for it", async () => {
    const slow = deferred();
    const p = recordingProducer();
    const messages = batchOf(idsOf(6));
    const h = handleFor(messages);
    const done = loop(async (r) => {
      if (keyOf(r) === "r0") await slow.promise;
      return reply(r);
    }, p.producer)(h.handle);
    await until(() => ["r1", "r2", "r3", "r4", "r5"].every((k) => p.acked.includes(k)));
    expect(p.acked).not.toContain("r0");
    expect(h.resolved).toEqual([]);
    slow.resolve();
    await done;
    expect(p.acked).toContain("r0");
    expect(h.last()).toBe(5);
    expect(h.commits()).toBeGreaterThanOrEqual(1);
  });

  it("never resolves an offset past an input whose outputs are not acknowledged yet", async () => {
    const p = recordingProducer();
    const gate = deferred();
    p.holds.set("r2", gate.promise);
    const messages = batchOf(idsOf(8));
    const h = handleFor(messages);
    const violations: string[] = [];
    const handle: BatchHandle = {
      ...h.handle,
      resolveOffset: (o) => {
        for (let i = 0; i <= Number(o); i++) if (i !== 5 && !p.acked.includes(`r${i}`)) violations.push(`resolved ${o} before r${i} was acknowledged`);
        h.handle.resolveOffset(o);
      },
    };
    const done = loop(async (r) => {
      // r0 and r1 are acknowledged first; the send carrying r2 is then held, with r3… behind it
      if (keyOf(r) !== "r0" && keyOf(r) !== "r1") await until(() => p.acked.includes("r0") && p.acked.includes("r1"));
      // nothing to send: done at once, but its offset must still wait for r2
      if (keyOf(r) === "r5") return skip("nothing to say");
      return reply(r);
    }, p.producer, { concurrency: 8 })(handle);
    await until(() => p.sends.some((keys) => keys.includes("r2")));
    await new Promise((res) => setTimeout(res, 10));
    expect(Math.max(...h.resolved)).toBe(1);
    gate.resolve();
    await done;
    expect(violations).toEqual([]);
    expect(h.last()).toBe(7);
  });

  it("a send that fails after its retries rejects the batch and leaves unacknowledged inputs unresolved", async () => {
    const p = recordingProducer();
    p.failing.add("r3");
    const degraded: string[] = [];
    const health = new (class extends ServiceHealth {
      override degrade(component: string, reason: string) {
        degraded.push(`${component}: ${reason}`);
        super.degrade(component, reason);
      }
    })();
    const messages = batchOf(idsOf(6));
    const h = handleFor(messages);
    const handler = loop(async (r) => {
      // r3 finishes first: everything before it is still processing when its send fails
      if (keyOf(r) !== "r3") await new Promise((res) => setTimeout(res, 5));
      return reply(r);
    }, p.producer, { health });
    await expect(handler(h.handle)).rejects.toThrow(/broker unavailable/);
    expect(p.sends.filter((keys) => keys.includes("r3")).length).toBe(2); // the retry policy's 2 attempts
    expect(p.acked).not.toContain("r3");
    expect(Math.max(-1, ...h.resolved)).toBeLessThan(3);
    expect(degraded).toEqual(expect.arrayContaining([expect.stringMatching(/^produce: sending outputs failed after retries/)]));
  });

  it("a process failure after retries rejects without resolving it; the inputs before it are still committed", async () => {
    const p = recordingProducer();
    const messages = batchOf(idsOf(6));
    const h = handleFor(messages);
    const handler = loop(async (r) => {
      if (keyOf(r) === "r2") throw new TransientError("provider down");
      return reply(r);
    }, p.producer);
    await expect(handler(h.handle)).rejects.toThrow(/provider down/);
    expect(h.last()).toBe(1);
    expect(p.acked).toEqual(expect.arrayContaining(["r0", "r1"]));
  });

  it("outputs of one key leave in input order, even when the later input finishes first", async () => {
    const p = recordingProducer();
    const slow = deferred();
    const messages = batchOf(["k", "k", "other"]);
    const h = handleFor(messages);
    const done = loop(async (r, ctx) => {
      if (ctx.envelope.offset === "0") await slow.promise;
      return emit(output(topics.responses, answer(r, `offset ${ctx.envelope.offset}`)));
    }, p.producer)(h.handle);
    await until(() => p.acked.includes("other"));
    expect(p.acked).not.toContain("k");
    slow.resolve();
    await done;
    expect(p.acked).toEqual(["other", "k", "k"]);
    const contents = await Promise.all(p.records.filter((r) => r.key === "k").map(async (r) => (await serde.decode<LlmResponse>(topics.responses, r.value)).content));
    expect(contents).toEqual(["offset 0", "offset 1"]);
    expect(h.last()).toBe(2);
  });

  it("dead letters (poison bytes, PoisonMessageError, an output outside the contract) are still produced, beside slow inputs", async () => {
    const broker = new MemoryBroker();
    broker.push(topics.requests.name, serde.encode(topics.requests, req("slow")), { key: "slow" });
    broker.push(topics.requests.name, Buffer.from("not avro"), { key: "bytes" });
    broker.push(topics.requests.name, serde.encode(topics.requests, req("poison")), { key: "poison" });
    broker.push(topics.requests.name, serde.encode(topics.requests, req("badout")), { key: "badout" });
    broker.push(topics.requests.name, serde.encode(topics.requests, req("fine")), { key: "fine" });
    const h = handleFor(broker.log(topics.requests.name));
    await loop(async (r) => {
      if (r.request_id === "slow") await new Promise((res) => setTimeout(res, 10));
      if (r.request_id === "poison") throw new PoisonMessageError("never");
      if (r.request_id === "badout") return emit(output(topics.responses, { ...answer(r, "x"), status: "MAYBE" } as unknown as LlmResponse));
      return reply(r);
    }, broker.producer())(h.handle);
    const dlq = broker.produced(topics.deadLetters.name);
    expect(dlq.map((m) => m.key?.toString()).sort()).toEqual(["badout", "bytes", "poison"]);
    expect(String(dlq.find((m) => m.key?.toString() === "badout")!.headers[DLQ_HEADERS.errorClass])).toBe("OutputSchemaError");
    expect((await responses(broker)).map((r) => r.request_id).sort()).toEqual(["fine", "slow"]);
    expect(h.last()).toBe(4);
  });

  it("with a watermark, consumption is reported only up to the acknowledged prefix and held inputs cap the commit", async () => {
    const p = recordingProducer();
    const slow = deferred();
    const held = new Set<number>();
    const commits: string[] = [];
    const watermark = new WatermarkCommits(
      () => (held.size ? String(Math.min(...held)) : null),
      async (offsets) => void commits.push(...offsets.map((o) => o.offset)),
      silentLogger,
    );
    const messages = batchOf(idsOf(5));
    const h = handleFor(messages);
    const done = loop(async (r, ctx) => {
      if (keyOf(r) === "r0") await slow.promise;
      if (keyOf(r) === "r2") {
        held.add(Number(ctx.envelope.offset));
        return hold("accumulating");
      }
      return reply(r);
    }, p.producer, { watermark })(h.handle);
    await until(() => ["r1", "r3", "r4"].every((k) => p.acked.includes(k)));
    expect(watermark.pending()).toEqual([]); // r0 is not acknowledged: nothing consumed yet
    slow.resolve();
    await done;
    expect(h.commits()).toBe(0); // the watermark commits, not the loop
    await watermark.flush();
    expect(commits).toEqual(["2"]); // everything consumed, r2 still held
    held.clear();
    await watermark.flush();
    expect(commits).toEqual(["2", "5"]);
  });

  it("processBatch: the next sub-batch is processed while the previous one's outputs are sent; offsets follow the acknowledged sub-batches", async () => {
    const p = recordingProducer();
    const gate = deferred();
    p.holds.set("r0", gate.promise);
    const messages = batchOf(idsOf(7));
    const h = handleFor(messages);
    const calls: string[][] = [];
    const done = createBatchHandler<LlmRequest>({
      service: "test", serde, producer: p.producer, logger: silentLogger,
      metrics: new StreamMetrics("test", { defaultMetrics: false }),
      retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1, jitter: 0 },
      subBatchSize: 3, concurrency: 8, signal: new AbortController().signal,
      processBatch: async (batch) => {
        calls.push(batch.map((e) => e.value.request_id));
        return batch.map((e) => reply(e.value));
      },
    })(h.handle);
    await until(() => calls.length === 2);
    await new Promise((res) => setTimeout(res, 10));
    // the first sub-batch's send is held: one more sub-batch is processed ahead of it, not two
    expect(calls).toEqual([["r0", "r1", "r2"], ["r3", "r4", "r5"]]);
    expect(h.resolved).toEqual([]);
    gate.resolve();
    await done;
    expect(calls).toEqual([["r0", "r1", "r2"], ["r3", "r4", "r5"], ["r6"]]);
    expect(p.acked).toEqual(idsOf(7));
    expect(h.last()).toBe(6);
  });

  it("processBatch: a sub-batch that fails after retries rejects, and only the sub-batches before it are resolved", async () => {
    const p = recordingProducer();
    const messages = batchOf(idsOf(7));
    const h = handleFor(messages);
    const handler = createBatchHandler<LlmRequest>({
      service: "test", serde, producer: p.producer, logger: silentLogger,
      metrics: new StreamMetrics("test", { defaultMetrics: false }),
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1, jitter: 0 },
      subBatchSize: 3, concurrency: 8, signal: new AbortController().signal,
      processBatch: async (batch) => {
        if (batch.some((e) => e.value.request_id === "r4")) throw new TransientError("clickhouse down");
        return batch.map((e) => reply(e.value));
      },
    });
    await expect(handler(h.handle)).rejects.toThrow(/clickhouse down/);
    expect(h.last()).toBe(2);
    expect(p.acked).toEqual(["r0", "r1", "r2"]);
  });

  it("stops taking inputs when the consumer stops, and resolves what was acknowledged", async () => {
    const p = recordingProducer();
    const messages = batchOf(idsOf(20));
    const h = handleFor(messages);
    let running = true;
    const seen: string[] = [];
    await loop(async (r) => {
      seen.push(keyOf(r));
      if (seen.length === 3) running = false;
      return reply(r);
    }, p.producer, { concurrency: 1 })({ ...h.handle, isRunning: () => running });
    expect(seen).toEqual(["r0", "r1", "r2"]);
    expect(h.last()).toBe(2);
  });
});
