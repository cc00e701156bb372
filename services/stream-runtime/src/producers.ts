import type { Kafka } from "kafkajs";
import type { BaseConfig } from "./config.ts";
import { kafkaProducer } from "./kafka-transport.ts";
import type { ProducerPort } from "./transport.ts";

export type ProducerSettings = Pick<BaseConfig, "KAFKA_BROKERS"> &
  Partial<Pick<BaseConfig, "KAFKA_CLIENT" | "KAFKA_CONNECT_TIMEOUT_MS" | "KAFKA_REQUEST_TIMEOUT_MS" | "KAFKA_SEND_TIMEOUT_MS">>;

/**
 * The producer KAFKA_CLIENT names, connected: kafkajs (on the given client, which carries the
 * connect and request timeouts) or @platformatic/kafka. Both are idempotent with acks from all
 * in-sync replicas and put a deadline on every send. @platformatic/kafka is loaded only when it is
 * chosen: at import it compiles its option schemas with ajv, which costs every service that runs
 * kafkajs half a second of CPU at start and memory for as long as it runs.
 */
export async function connectProducer(config: ProducerSettings, clientId: string, kafka: () => Kafka): Promise<ProducerPort> {
  const deadlines = config.KAFKA_SEND_TIMEOUT_MS ? { sendTimeoutMs: config.KAFKA_SEND_TIMEOUT_MS } : {};
  if (config.KAFKA_CLIENT === "platformatic") {
    const { platformaticProducer } = await import("./platformatic-transport.ts");
    return platformaticProducer({
      brokers: config.KAFKA_BROKERS, clientId,
      ...(config.KAFKA_CONNECT_TIMEOUT_MS ? { connectTimeoutMs: config.KAFKA_CONNECT_TIMEOUT_MS } : {}),
      ...(config.KAFKA_REQUEST_TIMEOUT_MS ? { requestTimeoutMs: config.KAFKA_REQUEST_TIMEOUT_MS } : {}),
    }, deadlines);
  }
  return kafkaProducer(kafka(), deadlines);
}
