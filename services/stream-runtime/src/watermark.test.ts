import { describe, expect, it } from "vitest";
import { newRequest, topics, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { loadBaseConfig } from "./config.ts";
import { silentLogger } from "./logger.ts";
import { StreamMetrics } from "./metrics.ts";
import { emit, hold, output } from "./outcome.ts";
import { startService } from "./service.ts";
import { MemoryBroker, memorySerde } from "./testing/memory-transport.ts";
import type { TopicPartitionOffset } from "./transport.ts";
import type { ProcessFn } from "./types.ts";
import { WatermarkCommits } from "./watermark.ts";

const serde = memorySerde();
const input = topics.batch.name;
const req = (id: string) => newRequest({ request_id: id, tenant: "t", use_case: "u", messages: [{ role: "user", content: "hi" }], created_at: 1_700_000_000_000 });
const answer = (r: LlmRequest): LlmResponse => ({
  request_id: r.request_id, tenant: r.tenant, use_case: r.use_case, status: "OK", content: "a", error: null, error_code: null,
  model: "m", provider: "p", served_by: "BATCH", input_tokens: 1, cached_input_tokens: 0, output_tokens: 1, cost_usd: 0,
  latency_ms: 0, cache_source_request_id: null, created_at: r.created_at,
});
const until = async (cond: () => boolean, ms = 3_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not reached");
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * A minimal accumulator: odd requests are held until `release()`, even ones answered at once.
 * Its watermark is the lowest offset it still holds.
 */
function accumulator() {
  const held = new Map<number, LlmRequest>();
  const process: ProcessFn<LlmRequest> = async (r, ctx) => {
    if (Number(r.request_id.slice(1)) % 2 === 1) {
      held.set(Number(ctx.envelope.offset), r);
      return hold("accumulating");
    }
    return emit(output(topics.responses, answer(r)));
  };
  const commitWatermark = () => (held.size === 0 ? null : String(Math.min(...held.keys())));
  return { process, commitWatermark, held, release: () => held.clear() };
}

async function start(broker: MemoryBroker, acc: ReturnType<typeof accumulator>, opts: { watermark?: boolean } = {}) {
  const consumer = broker.consumer([input], { batchSize: 4, manualCommit: opts.watermark ?? true, maxFailures: 3 });
  const svc = await startService<LlmRequest>({
    name: "acc", input: topics.batch, outputs: [topics.responses], process: acc.process, logger: silentLogger,
    metrics: new StreamMetrics("acc", { defaultMetrics: false }),
    config: loadBaseConfig({ RETRY_ATTEMPTS: "1", SUB_BATCH_SIZE: "4", COMMIT_INTERVAL_MS: "10" }),
    ...(opts.watermark ?? true ? { commitWatermark: acc.commitWatermark } : {}),
    transport: { consumer, producer: broker.producer(), serde },
  });
  return { svc, consumer };
}

describe("held inputs and the commit watermark", () => {
  it("commits answered inputs but never at or past an input still held; once released, the watermark moves on", async () => {
    const broker = new MemoryBroker();
    for (let i = 0; i < 10; i++) broker.push(input, serde.encode(topics.batch, req(`r${i}`)), { key: `r${i}` });
    const acc = accumulator();
    const { svc, consumer } = await start(broker, acc);
    await consumer.fetched();
    await new Promise((r) => setTimeout(r, 50));
    // r0 answered, r1 (offset 1) held: the commit stops at 1 although everything was consumed.
    expect(broker.committed.get(input)).toBe(1);
    expect(broker.produced(topics.responses.name)).toHaveLength(5);
    acc.release();
    await until(() => broker.committed.get(input) === 10);
    await svc.stop();
  });

  it("after a crash, a new consumer gets back exactly the inputs that were still held, and none that were released", async () => {
    const broker = new MemoryBroker();
    for (let i = 0; i < 6; i++) broker.push(input, serde.encode(topics.batch, req(`r${i}`)), { key: `r${i}` });
    const first = accumulator();
    const a = await start(broker, first);
    await a.consumer.fetched();
    first.held.delete(1); // r1 made durable; r3 and r5 still only in memory
    await until(() => broker.committed.get(input) === 3);
    await a.svc.stop(); // as good as a crash for the held ones: their offsets were never committed

    const second = accumulator();
    const b = await start(broker, second);
    await b.consumer.fetched();
    expect([...second.held.values()].map((r) => r.request_id)).toEqual(["r3", "r5"]);
    await b.svc.stop();
  });

  it("a hold() without a watermark fails the batch instead of committing it", async () => {
    const broker = new MemoryBroker();
    broker.push(input, serde.encode(topics.batch, req("r1")), { key: "r1" });
    const acc = accumulator();
    const { svc, consumer } = await start(broker, acc, { watermark: false });
    await until(() => consumer.failures.length >= 3);
    await svc.stop();
    expect(String(consumer.failures[0])).toMatch(/hold\(\) but the service has no commitWatermark/);
    expect(broker.committed.get(input)).toBeUndefined();
  });
});

describe("WatermarkCommits", () => {
  const make = (wm: () => string | null) => {
    const commits: TopicPartitionOffset[][] = [];
    const w = new WatermarkCommits(wm, async (o) => void commits.push([...o]), silentLogger);
    return { w, commits };
  };

  it("commits min(consumed + 1, watermark) per partition, only when it moved", async () => {
    let held: string | null = "5";
    const { w, commits } = make(() => held);
    w.consumed("t", 0, "9");
    w.consumed("t", 1, "2");
    await w.flush();
    expect(commits[0]).toEqual([{ topic: "t", partition: 0, offset: "5" }, { topic: "t", partition: 1, offset: "3" }]);
    await w.flush();
    expect(commits).toHaveLength(1);
    held = null;
    await w.flush();
    expect(commits[1]).toEqual([{ topic: "t", partition: 0, offset: "10" }]); // partition 1 did not move
  });

  it("forgets positions on a rejoin, so a partition that moved to another member is not committed from stale state", async () => {
    const { w, commits } = make(() => null);
    w.consumed("t", 0, "41");
    w.forget();
    await w.flush();
    expect(commits).toHaveLength(0);
  });

  it("keeps going after a failed commit and commits on the next flush", async () => {
    let fail = true;
    const done: TopicPartitionOffset[][] = [];
    const w = new WatermarkCommits(() => null, async (o) => {
      if (fail) throw new Error("coordinator moved");
      done.push([...o]);
    }, silentLogger);
    w.consumed("t", 0, "0");
    await w.flush();
    fail = false;
    await w.flush();
    expect(done).toEqual([[{ topic: "t", partition: 0, offset: "1" }]]);
  });
});
