import { describe, expect, it } from "vitest";
import { Partitioners } from "kafkajs";
import { javaCompatiblePartitioner, toMessage } from "./platformatic-transport.ts";

describe("the @platformatic/kafka producer's partitioner", () => {
  it("puts every key on the partition kafkajs's default (Java-compatible) partitioner picks", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    const ours = javaCompatiblePartitioner();
    for (const partitions of [1, 6, 7]) {
      const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
      for (let i = 0; i < 500; i++) {
        const key = `req-${i}-${(i * 2_654_435_761) % 1_000_003}`;
        const theirs = kafkajs({ topic: "t", partitionMetadata, message: { key, value: null } });
        const message = toMessage({ topic: "t", key, value: Buffer.alloc(0) });
        expect(ours(message, message.key as Buffer) % partitions, `key ${key}, ${partitions} partitions`).toBe(theirs);
      }
    }
  });

  it("spreads unkeyed records over the partitions in turn", () => {
    const ours = javaCompatiblePartitioner();
    const message = toMessage({ topic: "t", key: null, value: Buffer.alloc(0) });
    expect(message.key).toBeUndefined();
    expect([0, 1, 2, 3].map(() => ours(message, undefined) % 3)).toEqual([0, 1, 2, 0]);
  });
});

describe("records for @platformatic/kafka", () => {
  it("carries key, value and headers as bytes", () => {
    const m = toMessage({ topic: "llm.dlq", key: "k-1", value: Buffer.from([1, 2]), headers: { "dlq.reason": "bad", raw: Buffer.from([0xff]) } });
    expect(m.topic).toBe("llm.dlq");
    expect(m.key).toEqual(Buffer.from("k-1"));
    expect(m.value).toEqual(Buffer.from([1, 2]));
    expect(m.headers).toEqual(new Map([[Buffer.from("dlq.reason"), Buffer.from("bad")], [Buffer.from("raw"), Buffer.from([0xff])]]));
  });
});
