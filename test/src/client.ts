import { topics, type LlmRequest, type LlmResponse, type TopicSpec } from "@costwise/schemas";
import { AvroSerde, confluentRegistry, createKafka, silentLogger, type Logger } from "@costwise/stream-runtime";
import { Partitioners, type Consumer, type Producer } from "kafkajs";

export interface PipelineEndpoints {
  readonly KAFKA_BROKERS: string;
  readonly SCHEMA_REGISTRY_URL: string;
}

/**
 * What a user of costwise does: produce LlmRequests to llm.requests and read LlmResponses from
 * llm.responses, in Avro through the schema registry. Used by the demo, the tests and the benchmark.
 */
export class PipelineClient {
  private constructor(
    private readonly serde: AvroSerde,
    private readonly producer: Producer,
    private readonly consumers: Consumer[],
    private readonly kafka: ReturnType<typeof createKafka>,
  ) {}

  static async connect(env: PipelineEndpoints, logger: Logger = silentLogger): Promise<PipelineClient> {
    const serde = new AvroSerde(confluentRegistry(env.SCHEMA_REGISTRY_URL));
    await serde.init([topics.requests, topics.ready, topics.responses, topics.costRecords]);
    const kafka = createKafka({ brokers: env.KAFKA_BROKERS.split(","), clientId: "costwise-client", logger });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    return new PipelineClient(serde, producer, [], kafka);
  }

  /** Produce requests (keyed by request_id), in chunks, awaiting acks. */
  async produce(requests: readonly LlmRequest[], chunk = 500, topic: TopicSpec = topics.requests): Promise<void> {
    for (let i = 0; i < requests.length; i += chunk) {
      const part = requests.slice(i, i + chunk);
      await this.producer.send({ topic: topic.name, acks: -1, messages: part.map((r) => ({ key: r.request_id, value: this.serde.encode(topic, r) })) });
    }
  }

  /** Produce raw bytes to the input topic (for poison-message tests). */
  async produceRaw(key: string, value: Buffer): Promise<void> {
    await this.producer.send({ topic: topics.requests.name, acks: -1, messages: [{ key, value }] });
  }

  /**
   * Subscribe to a topic from the latest offset (or the beginning) with a fresh group and call
   * `onRecord` for every decoded record. Returns once the consumer has joined.
   */
  async subscribe<T>(topic: TopicSpec, onRecord: (value: T, meta: { key: string | null; headers: Record<string, string>; receivedAt: number }) => void, opts: { fromBeginning?: boolean; raw?: boolean } = {}): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: `costwise-client-${topic.name}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`, maxWaitTimeInMs: 50 });
    this.consumers.push(consumer);
    await consumer.connect();
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.subscribe({ topics: [topic.name], fromBeginning: opts.fromBeginning ?? false });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
        const value = opts.raw || !topic.record ? (message.value as unknown as T) : await this.serde.decode<T>(topic, message.value!);
        onRecord(value, { key: message.key?.toString() ?? null, headers, receivedAt: Date.now() });
      },
    });
    await joined;
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

  async close(): Promise<void> {
    for (const c of this.consumers) await c.disconnect().catch(() => undefined);
    await this.producer.disconnect();
  }
}
