import { afterAll, describe, expect, it } from "vitest";
import { Partitioners, logLevel, Kafka } from "kafkajs";
import { connectProducer } from "./producers.ts";
import type { ProducedRecord } from "./transport.ts";

const brokers = () => {
  const b = process.env.KAFKA_BROKERS;
  if (!b) throw new Error("KAFKA_BROKERS is not set: this test needs the local stack's Kafka");
  return b.split(",");
};

const run = `plat-${Date.now().toString(36)}`;
const topic = `${process.env.COSTWISE_TOPIC_NAMESPACE ?? ""}costwise-test.${run}`;
const kafka = new Kafka({ clientId: "platformatic-int", brokers: brokers(), logLevel: logLevel.NOTHING });

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic], timeout: 30_000 }).catch(() => undefined);
  await admin.disconnect();
});

describe("the @platformatic/kafka producer port on the real broker", () => {
  it("sends called at once all land, in call order per partition, where kafkajs would put their keys, with headers", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true, timeout: 30_000 });
    await admin.disconnect();

    // Through connectProducer, as services get it: the port is loaded only now, and kafkajs is not used.
    const producer = await connectProducer({ KAFKA_BROKERS: brokers(), KAFKA_CLIENT: "platformatic", KAFKA_SEND_TIMEOUT_MS: 30_000 }, "costwise-platformatic-int", () => {
      throw new Error("KAFKA_CLIENT=platformatic must not build a kafkajs producer");
    });
    // Ten sends of fifty at once: the library alone answers OUT_OF_ORDER_SEQUENCE_NUMBER to this.
    const sends: ProducedRecord[][] = Array.from({ length: 10 }, (_, s) =>
      Array.from({ length: 50 }, (_, i) => ({ topic, key: `${run}-${s}-${i}`, value: Buffer.from(`v-${s}-${i}`), headers: { n: String(s * 50 + i) } })));
    await Promise.all(sends.map((records) => producer.send(records)));
    await producer.close();

    const consumer = kafka.consumer({ groupId: `${run}-check`, maxWaitTimeInMs: 100 });
    const got: { key: string; partition: number; n: number }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const all = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          got.push({ key: message.key!.toString(), partition, n: Number(message.headers!.n!.toString()) });
          if (got.length === 500) resolve();
        },
      });
    });
    await all;
    await consumer.disconnect();

    expect(new Set(got.map((g) => g.key)).size).toBe(500);
    const kafkajs = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
    for (const g of got) expect(g.partition).toBe(kafkajs({ topic, partitionMetadata, message: { key: g.key, value: null } }));
    for (let p = 0; p < 6; p++) {
      const ns = got.filter((g) => g.partition === p).map((g) => g.n);
      expect(ns).toEqual([...ns].sort((a, b) => a - b));
    }
  });
});
