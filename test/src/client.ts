import { topics, type LlmRequest, type LlmResponse, type TopicSpec } from "@costwise/schemas";
import { silentLogger, type Logger } from "@costwise/stream-runtime";
import { KafkaTestClient, type KafkaLibrary } from "@costwise/stream-runtime/testing";

export interface PipelineEndpoints {
  readonly KAFKA_BROKERS: string;
  readonly SCHEMA_REGISTRY_URL: string;
}

/**
 * What a user of costwise does: produce LlmRequests to llm.requests and read LlmResponses from
 * llm.responses, in Avro through the schema registry. Used by the demo, the tests and the
 * benchmark; the Kafka side is the tests' one client (KafkaTestClient of @costwise/stream-runtime).
 */
export class PipelineClient {
  private constructor(private readonly client: KafkaTestClient) {}

  /** `library`: the Kafka client library (kafkajs unless given; the bench passes the services' KAFKA_CLIENT). */
  static async connect(env: PipelineEndpoints, logger: Logger = silentLogger, library?: KafkaLibrary): Promise<PipelineClient> {
    const client = KafkaTestClient.connect(env, { clientId: "costwise-client", logger, ...(library ? { library } : {}) });
    await client.serde.init([topics.requests, topics.ready, topics.responses, topics.costRecords]);
    return new PipelineClient(client);
  }

  /** Produce requests (keyed by request_id), in chunks, awaiting acks. */
  produce(requests: readonly LlmRequest[], chunk = 500, topic: TopicSpec = topics.requests): Promise<void> {
    return this.client.produce(topic, requests, { chunk });
  }

  /** Produce raw bytes to the input topic (for poison-message tests). */
  produceRaw(key: string, value: Buffer): Promise<void> {
    return this.client.produceRaw(topics.requests, key, value);
  }

  /**
   * Subscribe to a topic from the latest offset (or the beginning) with a fresh group and call
   * `onRecord` for every decoded record. Returns once the consumer has joined.
   */
  subscribe<T>(topic: TopicSpec, onRecord: (value: T, meta: { key: string | null; headers: Record<string, string>; receivedAt: number }) => void, opts: { fromBeginning?: boolean; raw?: boolean } = {}): Promise<void> {
    return this.client.subscribe<T>(topic, (r) => onRecord(r.value, { key: r.key, headers: r.headers, receivedAt: r.receivedAt }), opts);
  }

  /** Wait until a response arrived for every id (the caller subscribed first), or time out naming how many are missing. */
  static async waitFor(ids: Iterable<string>, got: Map<string, LlmResponse>, timeoutMs: number, onProgress?: (n: number) => void): Promise<void> {
    const want = [...ids];
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    for (;;) {
      const n = want.filter((id) => got.has(id)).length;
      if (n !== last) onProgress?.((last = n));
      if (n === want.length) return;
      if (Date.now() > deadline) throw new Error(`timed out: ${want.length - n} of ${want.length} responses missing after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
