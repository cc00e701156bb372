import { afterAll, describe, expect, it } from "vitest";
import { Kafka, logLevel } from "kafkajs";
import { newRequest, topics } from "@costwise/schemas";
import { loadBaseConfig } from "./config.ts";
import { silentLogger, type Logger } from "./logger.ts";
import { deadLetter, skip } from "./outcome.ts";
import { platformaticConsumer } from "./platformatic-consumer.ts";
import { startService } from "./service.ts";
import { KafkaTestClient } from "./testing/kafka-client.ts";
import type { BatchHandle, ConsumerPort, TopicPartition } from "./transport.ts";

const brokers = () => {
  const b = process.env.KAFKA_BROKERS;
  if (!b) throw new Error("KAFKA_BROKERS is not set: this test needs the local stack's Kafka");
  return b.split(",");
};

const run = `platc-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const ns = process.env.COSTWISE_TOPIC_NAMESPACE ?? "";
const kafka = new Kafka({ clientId: "platformatic-consumer-int", brokers: brokers(), logLevel: logLevel.NOTHING });
const created: string[] = [];
const consumers: ConsumerPort[] = [];

async function topic(name: string, partitions: number, perPartition: number): Promise<string> {
  const t = `${ns}costwise-test.${run}.${name}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: t, numPartitions: partitions }], waitForLeaders: true, timeout: 30_000 });
  await admin.disconnect();
  created.push(t);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let p = 0; p < partitions; p++) {
    await producer.send({ topic: t, acks: -1, messages: Array.from({ length: perPartition }, (_, i) => ({ partition: p, key: `${p}-${i}`, value: `v-${p}-${i}`, headers: { n: String(i) } })) });
  }
  await producer.disconnect();
  return t;
}

async function committed(groupId: string, t: string): Promise<Record<number, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [res] = await admin.fetchOffsets({ groupId, topics: [t] });
    return Object.fromEntries(res!.partitions.map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

async function groupOf(groupId: string): Promise<{ members: number; protocol: string }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return { members: groups[0]!.members.length, protocol: groups[0]!.protocol };
  } finally {
    await admin.disconnect();
  }
}

async function open(groupId: string, t: string, extra: { manualCommit?: boolean; partitionsConsumedConcurrently?: number; onFatal?: (reason: string) => void; logger?: Logger; fromBeginning?: boolean } = {}): Promise<ConsumerPort> {
  const c = await platformaticConsumer({
    brokers: brokers(), clientId: "costwise-platformatic-consumer-int", groupId, topics: [t], logger: extra.logger ?? silentLogger,
    partitionsConsumedConcurrently: extra.partitionsConsumedConcurrently ?? 2, sessionTimeoutMs: 10_000, fromBeginning: extra.fromBeginning ?? true,
    ...(extra.manualCommit ? { manualCommit: true } : {}),
    ...(extra.onFatal ? { onFatal: extra.onFatal } : {}),
  });
  consumers.push(c);
  return c;
}

const offsets = (b: BatchHandle) => b.messages.map((m) => Number(m.offset));

afterAll(async () => {
  for (const c of consumers) await c.stop().catch(() => undefined);
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: created, timeout: 30_000 }).catch(() => undefined);
  await admin.disconnect();
});

describe("the @platformatic/kafka consumer port on the real broker", () => {
  it("delivers per-partition batches in order, one handler per partition, commits only resolved offsets, and stop commits and leaves", async () => {
    const t = await topic("order", 3, 30);
    const group = `${run}-order`;
    const c = await open(group, t);
    const seen = new Map<number, number[]>();
    const busy = new Set<number>();
    let concurrent = 0;
    let maxConcurrent = 0;
    let firstOfP0 = true;
    await c.run(async (b) => {
      expect(busy.has(b.partition)).toBe(false);
      busy.add(b.partition);
      maxConcurrent = Math.max(maxConcurrent, ++concurrent);
      await new Promise((r) => setTimeout(r, 20));
      const m = b.messages[0]!;
      expect(Buffer.isBuffer(m.key) && Buffer.isBuffer(m.value) && Buffer.isBuffer(m.headers.n)).toBe(true);
      expect(m.value!.toString()).toBe(`v-${b.partition}-${m.offset}`);
      for (const o of offsets(b)) {
        // Partition 0's first batch leaves everything from 10 on unresolved: it must come again.
        if (b.partition === 0 && firstOfP0 && o >= 10) break;
        (seen.get(b.partition) ?? seen.set(b.partition, []).get(b.partition)!).push(o);
        b.resolveOffset(String(o));
      }
      if (b.partition === 0) firstOfP0 = false;
      busy.delete(b.partition);
      concurrent--;
    });
    await expect.poll(() => c.ready(), { timeout: 30_000 }).toBe(true);
    const all = Array.from({ length: 30 }, (_, i) => i);
    await expect.poll(() => [0, 1, 2].map((p) => seen.get(p) ?? []), { timeout: 30_000 }).toEqual([all, all, all]);
    expect(maxConcurrent).toBeLessThanOrEqual(2);
    await expect.poll(() => committed(group, t), { timeout: 10_000 }).toEqual({ 0: 30, 1: 30, 2: 30 });
    await c.stop();
    expect(c.ready()).toBe(false);
    expect((await groupOf(group)).members).toBe(0);
  });

  it("a throwing handler gets its unresolved messages again; stop commits what was resolved and a new member starts after it", async () => {
    const t = await topic("throw", 1, 20);
    const group = `${run}-throw`;
    const c = await open(group, t);
    const batches: number[][] = [];
    await c.run(async (b) => {
      batches.push(offsets(b));
      const cut = batches.length === 1 ? 6 : 14;
      for (const o of offsets(b)) if (o <= cut) b.resolveOffset(String(o));
      throw new Error(`failure ${batches.length}`);
    });
    await expect.poll(() => batches.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    await c.stop();
    expect(batches[0]![0]).toBe(0);
    expect(batches[1]).toEqual(Array.from({ length: 13 }, (_, i) => 7 + i));
    expect(await committed(group, t)).toEqual({ 0: 15 });

    const again = await open(group, t);
    const firsts: number[] = [];
    await again.run(async (b) => {
      firsts.push(Number(b.messages[0]!.offset));
      for (const o of offsets(b)) b.resolveOffset(String(o));
    });
    await expect.poll(() => firsts.length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(firsts[0]).toBe(15);
    await expect.poll(() => committed(group, t), { timeout: 10_000 }).toEqual({ 0: 20 });
    await again.stop();
  });

  it("with manual commits resolving only moves the fetch position: nothing is committed but commit()", async () => {
    const t = await topic("manual", 1, 10);
    const group = `${run}-manual`;
    const c = await open(group, t, { manualCommit: true });
    expect(c.commit && c.onAssignment).toBeTruthy();
    const seen: number[] = [];
    await c.run(async (b) => {
      for (const o of offsets(b)) {
        seen.push(o);
        b.resolveOffset(String(o));
      }
      await b.commitOffsetsIfNecessary();
    });
    await expect.poll(() => seen.length, { timeout: 30_000 }).toBe(10);
    await new Promise((r) => setTimeout(r, 1_500));
    // Resolved messages are not delivered again, and nothing was committed.
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(await committed(group, t)).toEqual({ 0: -1 });
    await c.commit!([{ topic: t, partition: 0, offset: "4" }]);
    expect(await committed(group, t)).toEqual({ 0: 4 });
    await c.stop();
    expect(await committed(group, t)).toEqual({ 0: 4 });
    expect((await groupOf(group)).members).toBe(0);
  });

  it("a second member rebalances the group: both are told their partitions, and the first one's batches of revoked partitions go stale", async () => {
    const t = await topic("rebalance", 4, 1);
    const group = `${run}-rebalance`;
    const a = await open(group, t, { manualCommit: true, partitionsConsumedConcurrently: 4 });
    const aAssigned: TopicPartition[][] = [];
    a.onAssignment!((tps) => aAssigned.push([...tps]));
    const held: BatchHandle[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await a.run(async (b) => {
      held.push(b);
      await gate;
    });
    await expect.poll(() => held.length, { timeout: 30_000 }).toBe(4);
    expect(aAssigned.at(-1)!.map((tp) => tp.partition).sort()).toEqual([0, 1, 2, 3]);
    expect(held.some((b) => b.isStale())).toBe(false);

    const b = await open(group, t, { manualCommit: true });
    const bAssigned: TopicPartition[][] = [];
    b.onAssignment!((tps) => bAssigned.push([...tps]));
    const bSeen: number[] = [];
    await b.run(async (batch) => {
      bSeen.push(batch.partition);
      for (const o of offsets(batch)) batch.resolveOffset(String(o));
    });
    await expect.poll(() => aAssigned.length, { timeout: 30_000 }).toBe(2);
    const aNow = new Set(aAssigned[1]!.map((tp) => tp.partition));
    const bNow = bAssigned.at(-1)!.map((tp) => tp.partition);
    expect(aNow.size).toBe(2);
    expect([...aNow, ...bNow].sort()).toEqual([0, 1, 2, 3]);
    for (const h of held) expect(h.isStale()).toBe(!aNow.has(h.partition));
    // Nothing was committed: the new owner reads the revoked partitions from the beginning.
    await expect.poll(() => [...bSeen].sort(), { timeout: 30_000 }).toEqual([...bNow].sort());
    expect(a.ready() && b.ready()).toBe(true);
    release();
    await Promise.all([a.stop(), b.stop()]);
    expect((await groupOf(group)).members).toBe(0);
  });

  it("a committed offset below the log start (records deleted) is reset to the earliest offset, as kafkajs does, and is not fatal", async () => {
    const t = await topic("out-of-range", 1, 30);
    const group = `${run}-out-of-range`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.setOffsets({ groupId: group, topic: t, partitions: [{ partition: 0, offset: "5" }] });
      await admin.deleteTopicRecords({ topic: t, partitions: [{ partition: 0, offset: "20" }] });
    } finally {
      await admin.disconnect();
    }
    expect(await committed(group, t)).toEqual({ 0: 5 });
    const fatal: string[] = [];
    const warnings: { obj: object; msg?: string }[] = [];
    const logger: Logger = { ...silentLogger, warn: (obj, msg) => warnings.push({ obj, ...(msg === undefined ? {} : { msg }) }), child: () => logger };
    const c = await open(group, t, { onFatal: (reason) => fatal.push(reason), logger });
    const seen: number[] = [];
    await c.run(async (b) => {
      for (const o of offsets(b)) {
        seen.push(o);
        b.resolveOffset(String(o));
      }
    });
    await expect.poll(() => seen, { timeout: 30_000 }).toEqual(Array.from({ length: 10 }, (_, i) => 20 + i));
    expect(c.ready()).toBe(true);
    await expect.poll(() => committed(group, t), { timeout: 10_000 }).toEqual({ 0: 30 });
    expect(fatal).toEqual([]);
    expect(c.ready()).toBe(true);
    expect(warnings.map((w) => w.obj)).toContainEqual(expect.objectContaining({ topic: t, partition: 0, from: "5", to: "20" }));
    await c.stop();
  });

  it("without fromBeginning a committed offset past the end is reset to the latest offset: what arrives next is delivered", async () => {
    const t = await topic("past-end", 1, 30);
    const group = `${run}-past-end`;
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.setOffsets({ groupId: group, topic: t, partitions: [{ partition: 0, offset: "50" }] });
    } finally {
      await admin.disconnect();
    }
    const fatal: string[] = [];
    const c = await open(group, t, { fromBeginning: false, onFatal: (reason) => fatal.push(reason) });
    const seen: number[] = [];
    await c.run(async (b) => {
      for (const o of offsets(b)) {
        seen.push(o);
        b.resolveOffset(String(o));
      }
    });
    // The reset commits the latest offset: once it is there, new records follow it.
    await expect.poll(() => committed(group, t), { timeout: 30_000 }).toEqual({ 0: 30 });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: t, acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ partition: 0, key: `0-${30 + i}`, value: `v-0-${30 + i}` })) });
    await producer.disconnect();
    await expect.poll(() => seen, { timeout: 30_000 }).toEqual([30, 31, 32, 33, 34]);
    expect(fatal).toEqual([]);
    expect(c.ready()).toBe(true);
    await c.stop();
  });

  it("startService with KAFKA_CLIENT=platformatic runs the loop end to end on the @platformatic/kafka consumer", async () => {
    const group = `${run}-service`;
    const config = loadBaseConfig({ ...process.env, KAFKA_CLIENT: "platformatic", GROUP_ID: group, METRICS_PORT: "0", LOG_LEVEL: "silent" });
    const svc = await startService({
      name: "platformatic-consumer-int",
      input: topics.requests,
      outputs: [],
      config,
      logger: silentLogger,
      startAt: "end",
      acceptKey: (key) => key?.toString().startsWith(run) ?? false,
      process: async (_value, ctx) => (ctx.envelope.key?.startsWith(run) ? deadLetter("platformatic consumer probe") : skip("not this test's")),
    });
    const client = KafkaTestClient.connect({ KAFKA_BROKERS: brokers().join(","), SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL! }, { clientId: "costwise-platformatic-consumer-int" });
    try {
      await expect.poll(() => svc.ready(), { timeout: 30_000 }).toBe(true);
      // kafkajs would have joined with its "RoundRobinAssigner".
      expect((await groupOf(group)).protocol).toBe("roundrobin");
      const letters = new Set<string>();
      await client.subscribe<Buffer>(topics.deadLetters, ({ key }) => {
        if (key?.startsWith(run)) letters.add(key);
      }, { raw: true });
      const ids = Array.from({ length: 5 }, (_, i) => `${run}-req-${i}`);
      await client.produce(topics.requests, ids.map((request_id) => newRequest({ request_id, tenant: "t", use_case: "u", messages: [{ role: "user", content: "hi" }], created_at: Date.now() })));
      await expect.poll(() => [...letters].sort(), { timeout: 30_000 }).toEqual([...ids].sort());
    } finally {
      await svc.stop();
      await client.close();
    }
    expect((await groupOf(group)).members).toBe(0);
    const commits = await committed(group, topics.requests.name);
    expect(Object.values(commits).some((o) => o > 0)).toBe(true);
  });
});
