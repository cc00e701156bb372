import { createEmulator, type Emulator, type RuntimeConfigPatch } from "@costwise/emulator";
import { stackEnv } from "@costwise/infra/testing";
import { newRequest, topics, type CostRecord, type LlmRequest, type LlmResponse, type TopicSpec } from "@costwise/schemas";
import { KafkaTestClient } from "@costwise/stream-runtime/testing";
import { Redis } from "ioredis";
import type { Kafka } from "kafkajs";
import { loadBatchAccumulatorConfig, type BatchAccumulatorConfig } from "../config.ts";
import { ATTEMPT_HEADER } from "../outcomes.ts";
import { storeOf } from "../service.ts";
import type { BatchStore } from "../store.ts";

export interface Received<T> {
  readonly value: T;
  readonly headers: Record<string, string>;
}

/**
 * What the integration tests of the batch accumulator share: the real stack (Kafka, registry,
 * Redis) from the int project's global setup, a provider emulator in this process (its batch
 * timing and batch list belong to the test alone), a producer for llm.requests.batch and
 * collectors on every topic the accumulator writes. Names are unique per run, and the consumer
 * group starts at the end of the input topic, so earlier runs' messages are not read again.
 */
export class Harness {
  readonly run = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  readonly responses = new Map<string, Received<LlmResponse>[]>();
  readonly costRecords = new Map<string, Received<CostRecord>[]>();
  readonly ready = new Map<string, Received<LlmRequest>[]>();
  /** Requests the accumulator sent back to llm.requests.batch for another batch (attempt header set). */
  readonly retried = new Map<string, Received<LlmRequest>[]>();
  readonly deadLetters = new Map<string, Received<Buffer>[]>();

  private constructor(
    readonly env: Readonly<Record<string, string>>,
    readonly emulator: Emulator,
    private readonly client: KafkaTestClient,
    readonly redis: Redis,
  ) {}

  get kafka(): Kafka {
    return this.client.kafka;
  }

  static async start(batch: RuntimeConfigPatch["batch"] = {}): Promise<Harness> {
    const env = stackEnv();
    const emulator = createEmulator({ batch: { validatingMs: 100, inProgressMs: 300, finalizingMs: 100, ...batch } });
    await emulator.start(0);
    const client = KafkaTestClient.connect({ KAFKA_BROKERS: env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL! }, { clientId: "batch-accumulator-test" });
    const redis = new Redis(env.REDIS_URL!);
    const h = new Harness(env, emulator, client, redis);
    await h.collect();
    return h;
  }

  get groupId(): string {
    return `costwise-batch-accumulator-${this.run}`;
  }

  /** The service's configuration for this run: emulator, unique group and key prefix, fast polling. */
  config(over: Record<string, string> = {}): BatchAccumulatorConfig {
    // In-process services log into the test output: only what would crash them.
    return loadBatchAccumulatorConfig(this.childEnv({ LOG_LEVEL: "fatal", ...over }));
  }

  childEnv(over: Record<string, string> = {}): Record<string, string> {
    return {
      KAFKA_BROKERS: this.env.KAFKA_BROKERS!,
      SCHEMA_REGISTRY_URL: this.env.SCHEMA_REGISTRY_URL!,
      REDIS_URL: this.env.REDIS_URL!,
      EMULATOR_URL: this.emulator.url,
      // The stack's env (inherited by child processes) points the SDKs at the shared emulator: not in these tests.
      OPENAI_BASE_URL: `${this.emulator.url}/v1`,
      ANTHROPIC_BASE_URL: this.emulator.url,
      GROUP_ID: this.groupId,
      BATCH_KEY_PREFIX: `test:batch:${this.run}:`,
      INSTANCE_ID: this.run,
      METRICS_PORT: "0",
      LOG_LEVEL: "warn",
      SESSION_TIMEOUT_MS: "6000",
      COMMIT_INTERVAL_MS: "200",
      BATCH_POLL_INITIAL_MS: "150",
      BATCH_POLL_MAX_MS: "600",
      BATCH_TICK_MS: "50",
      BATCH_RECOVER_EVERY_MS: "300",
      BATCH_TURNAROUND_MS: "5000",
      REALTIME_BUDGET_MS: "2000",
      RETRY_INITIAL_MS: "100",
      RETRY_MAX_MS: "1000",
      ...over,
    };
  }

  store(): BatchStore {
    return storeOf(this.redis, this.config());
  }

  /** Commit the end of the input topic for this run's group: the service starts with new messages only. */
  startGroupAtEnd(): Promise<void> {
    return this.client.startGroupAtEnd(this.groupId, topics.batch);
  }

  request(id: string, over: Partial<LlmRequest> = {}): LlmRequest {
    return newRequest({
      request_id: `${this.run}-${id}`, tenant: "acme", use_case: "nightly-report", latency_class: "BATCH",
      messages: [{ role: "user", content: `Summarise ticket ${id} for the weekly report` }], model: "gpt-4o-mini", created_at: Date.now(), ...over,
    });
  }

  /** Produce to llm.requests.batch, keyed by request_id; `partition` pins them all to one partition (keeps their order). */
  produce(requests: readonly LlmRequest[], opts: { headers?: Record<string, string>; partition?: number } = {}): Promise<void> {
    return this.client.produce(topics.batch, requests, opts);
  }

  private async collect(): Promise<void> {
    const sinks: [TopicSpec, Map<string, Received<unknown>[]>][] = [
      [topics.responses, this.responses],
      [topics.costRecords, this.costRecords],
      [topics.ready, this.ready],
      [topics.batch, this.retried],
      [topics.deadLetters, this.deadLetters],
    ];
    await Promise.all(
      sinks.map(([topic, sink]) =>
        this.client.subscribe<unknown>(
          topic,
          ({ key, value, headers }) => {
            if (!key?.startsWith(this.run)) return;
            // On the input topic only the accumulator's own retries are of interest, not what the test produced.
            if (topic === topics.batch && headers[ATTEMPT_HEADER] === undefined) return;
            let list = sink.get(key);
            if (!list) sink.set(key, (list = []));
            list.push({ value, headers });
          },
          { groupId: `${this.groupId}-collect-${topic.name}` },
        ),
      ),
    );
  }

  async until(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Every provider batch the emulator received, with the custom_ids of its requests. */
  openAiBatches(): { id: string; status: string; customIds: string[]; metadata: Record<string, string> | null }[] {
    const list = this.emulator.state.openAiBatches.list({ limit: 100 }, Date.now()).data;
    return list.map((b) => {
      const file = this.emulator.state.files.get(b.input_file_id);
      const customIds = (file?.content.toString("utf8") ?? "").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { custom_id: string }).custom_id);
      return { id: b.id, status: b.status, customIds, metadata: b.metadata };
    });
  }

  async close(): Promise<void> {
    await this.client.close();
    const keys = await this.redis.keys(`test:batch:${this.run}:*`);
    if (keys.length > 0) await this.redis.del(...keys);
    this.redis.disconnect();
    await this.emulator.stop();
  }
}
