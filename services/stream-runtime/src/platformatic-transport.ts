import { Producer, ProduceAcks, compatibilityPartitioner, type MessageToProduce } from "@platformatic/kafka";
import { withDeadline } from "./deadline.ts";
import type { KafkaTimeouts, ProducerDeadlines } from "./kafka-transport.ts";
import type { ProducedRecord, ProducerPort } from "./transport.ts";

export interface PlatformaticProducerOptions extends KafkaTimeouts {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

/** The library's own retries of one request (a leader moving, a broker restarting); the send deadline bounds them all. */
const RETRIES = 8;
const RETRY_DELAY_MS = 300;

/**
 * Keyed records go where Kafka's Java client and kafkajs put them (murmur2 of the key, sign bit
 * cleared, modulo the partition count), so one key stays on one partition whichever client produced
 * it; unkeyed records take turns.
 */
export function javaCompatiblePartitioner(): (message: MessageToProduce, key: Buffer | undefined) => number {
  let next = 0;
  return (message, key) => (key && key.length > 0 ? compatibilityPartitioner(message, key) : next++ & 0x7fffffff);
}

export function toMessage(r: ProducedRecord): MessageToProduce {
  return {
    topic: r.topic,
    ...(r.key !== null ? { key: Buffer.from(r.key) } : {}),
    value: r.value,
    // Without serializers the library writes header names as given, so they must be bytes too.
    ...(r.headers ? { headers: new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), Buffer.isBuffer(v) ? v : Buffer.from(v)])) } : {}),
  };
}

/**
 * The ProducerPort on @platformatic/kafka: idempotent, acks from all in-sync replicas, every send
 * under the send deadline. Its idempotent producer numbers each batch when it is sent, and two sends
 * running at once reach the broker out of sequence (OUT_OF_ORDER_SEQUENCE_NUMBER), so sends are
 * queued here and go one at a time, in call order, as kafkajs's one request in flight does; the
 * deadline of a send counts its wait in that queue.
 */
export async function platformaticProducer(opts: PlatformaticProducerOptions, deadlines: ProducerDeadlines = {}): Promise<ProducerPort> {
  const producer = new Producer({
    clientId: opts.clientId,
    bootstrapBrokers: [...opts.brokers],
    idempotent: true,
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
    connectTimeout: opts.connectTimeoutMs ?? 5_000,
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    timeout: opts.requestTimeoutMs ?? 30_000,
    retries: RETRIES,
    retryDelay: RETRY_DELAY_MS,
    partitioner: javaCompatiblePartitioner(),
  });
  const sendTimeoutMs = deadlines.sendTimeoutMs ?? 60_000;
  // The library connects on first use; asking for a producer id now makes a broker that is down
  // fail the start-up step rather than the first send.
  try {
    await withDeadline("kafka: connect the producer", deadlines.connectTimeoutMs ?? 30_000, () => producer.initIdempotentProducer({}));
  } catch (err) {
    await producer.close().catch(() => undefined);
    throw err;
  }
  let tail: Promise<unknown> = Promise.resolve();
  return {
    async send(records: readonly ProducedRecord[]) {
      if (records.length === 0) return;
      const messages = records.map(toMessage);
      // The queue waits for the library's own answer, not for the caller's deadline: the next batch
      // must not be numbered before this one is settled.
      const sent = tail.then(() => producer.send({ messages }));
      tail = sent.catch(() => undefined);
      await withDeadline(`kafka: send ${records.length} record(s)`, sendTimeoutMs, () => sent);
    },
    async close() {
      await tail;
      await producer.close();
    },
  };
}

export { platformaticConsumer, ConsumerFailedError, type PlatformaticConsumerOptions } from "./platformatic-consumer.ts";
