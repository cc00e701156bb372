import type { TopicSpec } from "@costwise/schemas";
import type { BaseConfig } from "./config.ts";
import { createKafka } from "./kafka-transport.ts";
import { connectProducer, type ProducerSettings } from "./producers.ts";
import type { Logger } from "./logger.ts";
import type { StreamMetrics } from "./metrics.ts";
import type { Output } from "./outcome.ts";
import { AvroSerde, confluentRegistry, type Serde } from "./serde.ts";
import type { ProducedRecord, ProducerPort } from "./transport.ts";

/** An output as bytes: keyed by the topic's key field (request_id) unless the output names a key. */
export function encodeOutput(serde: Serde, out: Output): ProducedRecord {
  const key = out.key ?? String((out.value as unknown as Record<string, unknown>)[out.topic.key] ?? "");
  return { topic: out.topic.name, key, value: serde.encode(out.topic, out.value), ...(out.headers ? { headers: out.headers } : {}) };
}

/**
 * Outputs that no consumed input carries (results of a provider batch, budget alerts): encoded with
 * the same serde and sent through the same idempotent, all-replica-acknowledged producer as the loop's.
 */
export interface OutputProducer {
  /** The value encoder, for records that must be re-encoded (e.g. the original bytes of a dead letter). */
  readonly serde: Serde;
  /** Resolves once every record is acknowledged; `extra` are records already encoded (dead letters). */
  send(outputs: readonly Output[], extra?: readonly ProducedRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface OutputProducerOptions {
  /** Names the Kafka client (`costwise-<name>`). */
  readonly name: string;
  readonly config: Pick<BaseConfig, "SCHEMA_REGISTRY_URL"> & Partial<Pick<BaseConfig, "REGISTRY_TIMEOUT_MS" | "REGISTRY_ATTEMPTS">> & ProducerSettings;
  /** Every topic this producer writes; their schemas are registered up front. */
  readonly topics: readonly TopicSpec[];
  readonly logger: Logger;
  readonly metrics?: StreamMetrics;
  /** Replace Kafka and the registry (unit tests use the memory transport). */
  readonly transport?: { producer: ProducerPort; serde: Serde };
}

export function outputProducer(producer: ProducerPort, serde: Serde, metrics?: StreamMetrics): OutputProducer {
  return {
    serde,
    async send(outputs, extra = []) {
      const records = [...outputs.map((o) => encodeOutput(serde, o)), ...extra];
      await producer.send(records);
      for (const r of records) metrics?.produced.inc({ topic: r.topic });
    },
    close: () => producer.close(),
  };
}

export async function startOutputProducer(opts: OutputProducerOptions): Promise<OutputProducer> {
  if (opts.transport) return outputProducer(opts.transport.producer, opts.transport.serde, opts.metrics);
  const c = opts.config;
  const serde = new AvroSerde(confluentRegistry(c.SCHEMA_REGISTRY_URL, { ...(c.REGISTRY_TIMEOUT_MS ? { timeoutMs: c.REGISTRY_TIMEOUT_MS } : {}), ...(c.REGISTRY_ATTEMPTS ? { attempts: c.REGISTRY_ATTEMPTS } : {}) }));
  await serde.init(opts.topics);
  const clientId = `costwise-${opts.name}`;
  const producer = await connectProducer(c, clientId, () => createKafka({
    brokers: c.KAFKA_BROKERS, clientId, logger: opts.logger,
    ...(c.KAFKA_CONNECT_TIMEOUT_MS ? { connectTimeoutMs: c.KAFKA_CONNECT_TIMEOUT_MS } : {}),
    ...(c.KAFKA_REQUEST_TIMEOUT_MS ? { requestTimeoutMs: c.KAFKA_REQUEST_TIMEOUT_MS } : {}),
  }));
  return outputProducer(producer, serde, opts.metrics);
}
