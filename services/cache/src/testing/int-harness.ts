import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ensureEmbeddingModel } from "@costwise/infra";
import { stackEnv } from "@costwise/infra/testing";
import { newRequest, topics, type CostRecord, type LlmOutcome, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { AvroSerde, confluentRegistry, createKafka, silentLogger, type RunningService } from "@costwise/stream-runtime";
import { Redis } from "ioredis";
import { Partitioners, type Consumer, type Producer } from "kafkajs";
import { stringify } from "yaml";
import { loadCacheConfig } from "../config.ts";
import { startCacheService } from "../service.ts";
import { namePart } from "../store.ts";

/**
 * The test policy: short TTLs, a threshold the paraphrases below clear. Test requests are sent
 * with temperature 0.3 and these use cases allow sampling: a cache service of a pipeline running
 * beside the tests (npm start) bypasses such requests under its own policy, so it neither answers
 * nor learns them and only the service under test does.
 */
export const TEST_TEMPERATURE = 0.3;
const POLICY = {
  version: 1,
  default: { mode: "exact", ttl_seconds: 600, allow_sampling: true },
  use_cases: {
    faq: { mode: "semantic", threshold: 0.85, ttl_seconds: 600, allow_sampling: true },
    short: { mode: "semantic", threshold: 0.85, ttl_seconds: 2, allow_sampling: true },
    strict: { mode: "exact", ttl_seconds: 600 },
    bounded: { mode: "semantic", max_wrong_rate: 0.01, ttl_seconds: 600, allow_sampling: true },
    feedback: { mode: "exact", ttl_seconds: 600, allow_sampling: true, max_failed_outcomes: 2 },
  },
};

export type Outcome = { readonly kind: "uncached"; readonly request: LlmRequest } | { readonly kind: "hit"; readonly response: LlmResponse };

/**
 * Everything an integration test of the cache needs on the real stack: a private key prefix and
 * consumer group (started at the end of the topics, so history is not replayed), the service
 * in-process, and a stand-in executor that answers every request the cache sends on.
 */
export class CacheHarness {
  readonly uncached = new Map<string, LlmRequest>();
  readonly responses = new Map<string, LlmResponse[]>();
  readonly costRecords = new Map<string, CostRecord>();
  /** Requests the stand-in executor must leave unanswered. */
  readonly unanswered = new Set<string>();
  private service: RunningService | undefined;
  private seq = 0;

  private constructor(
    readonly runId: string,
    readonly env: Record<string, string>,
    readonly redis: Redis,
    private readonly producer: Producer,
    private readonly consumers: Consumer[],
    private readonly serde: AvroSerde,
    private readonly kafka: ReturnType<typeof createKafka>,
  ) {}

  static async create(name: string, overrides: Record<string, string> = {}): Promise<CacheHarness> {
    const stack = stackEnv();
    const runId = `${name}-${process.pid}-${Date.now().toString(36)}`;
    const dir = mkdtempSync(path.join(tmpdir(), "cw-cache-int-"));
    const policyFile = path.join(dir, "policy.yaml");
    writeFileSync(policyFile, stringify(POLICY));
    const env: Record<string, string> = {
      KAFKA_BROKERS: stack.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL!, REDIS_URL: stack.REDIS_URL!,
      GROUP_ID: `costwise-cache-${runId}`, CACHE_KEY_PREFIX: `cw:test:${runId}`, CACHE_POLICY_FILE: policyFile,
      CACHE_EMBEDDING_MODEL_DIR: await ensureEmbeddingModel(), METRICS_PORT: "0", LOG_LEVEL: "warn", ...overrides,
    };
    const kafka = createKafka({ brokers: env.KAFKA_BROKERS!.split(","), clientId: `cache-int-${runId}`, logger: silentLogger });
    // Start the service's group at the end of its input topics: it must not replay other tests' traffic.
    const admin = kafka.admin();
    await admin.connect();
    for (const t of [topics.requests, topics.responses, topics.outcomes]) {
      const offsets = await admin.fetchTopicOffsets(t.name);
      await admin.setOffsets({ groupId: env.GROUP_ID!, topic: t.name, partitions: offsets.map((o) => ({ partition: o.partition, offset: o.high })) });
    }
    await admin.disconnect();
    const serde = new AvroSerde(confluentRegistry(env.SCHEMA_REGISTRY_URL!));
    await serde.init([topics.requests, topics.responses, topics.costRecords, topics.uncached, topics.outcomes]);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const redis = new Redis(env.REDIS_URL!);
    const h = new CacheHarness(runId, env, redis, producer, [], serde, kafka);
    await h.follow();
    return h;
  }

  /** Subscribe to the cache's outputs from now on; answer whatever reaches llm.requests.uncached. */
  private async follow(): Promise<void> {
    const sub = async (topic: (typeof topics)[keyof typeof topics], on: (value: unknown) => Promise<void> | void) => {
      const c = this.kafka.consumer({ groupId: `cache-int-client-${this.runId}-${topic.name}`, maxWaitTimeInMs: 50 });
      this.consumers.push(c);
      await c.connect();
      const joined = new Promise<void>((resolve) => c.on(c.events.GROUP_JOIN, () => resolve()));
      await c.subscribe({ topics: [topic.name], fromBeginning: false });
      await c.run({ eachMessage: async ({ message }) => on(await this.serde.decode(topic, message.value!)) });
      await joined;
    };
    await sub(topics.uncached, async (v) => {
      const req = v as LlmRequest;
      if (!req.request_id.startsWith(this.runId)) return;
      // Another pipeline's cache passing our request on (see POLICY) is not the service under test.
      if (req.pipeline?.cache_lookup === "BYPASS" && req.tags.cache !== "off" && req.use_case !== "strict") return;
      this.uncached.set(req.request_id, req);
      if (!this.unanswered.has(req.request_id)) await this.respond(answerTo(req));
    });
    await sub(topics.responses, (v) => {
      const res = v as LlmResponse;
      if (res.request_id.startsWith(this.runId)) this.responses.set(res.request_id, [...(this.responses.get(res.request_id) ?? []), res]);
    });
    await sub(topics.costRecords, (v) => {
      const rec = v as CostRecord;
      if (rec.request_id.startsWith(this.runId)) this.costRecords.set(rec.request_id, rec);
    });
  }

  /** Start the service in-process (stopping one this harness started before: one member per group). */
  async startService(overrides: Record<string, string> = {}): Promise<RunningService> {
    await this.stopService();
    this.service = await startCacheService(loadCacheConfig({ ...this.env, ...overrides }), { logger: silentLogger });
    await waitUntil(() => this.service!.ready(), 60_000, "cache service joined its group");
    return this.service;
  }

  async stopService(): Promise<void> {
    await this.service?.stop();
    this.service = undefined;
  }

  /** A fresh request id of this run. */
  id(label: string): string {
    return `${this.runId}-${label}-${++this.seq}`;
  }

  request(text: string, over: Partial<LlmRequest> = {}): LlmRequest {
    return newRequest({
      request_id: this.id("q"), tenant: "acme", use_case: "faq", model: "gpt-4o-mini", temperature: TEST_TEMPERATURE, max_tokens: 100,
      messages: [{ role: "system", content: "You are the support assistant of a bank." }, { role: "user", content: text }],
      ...over,
    });
  }

  async produce(req: LlmRequest): Promise<void> {
    await this.producer.send({ topic: topics.requests.name, acks: -1, messages: [{ key: req.request_id, value: this.serde.encode(topics.requests, req) }] });
  }

  /** An application's verdict on an answer (llm.outcomes). */
  async reportOutcome(o: LlmOutcome): Promise<void> {
    await this.producer.send({ topic: topics.outcomes.name, acks: -1, messages: [{ key: o.request_id, value: this.serde.encode(topics.outcomes, o) }] });
  }

  async respond(res: LlmResponse): Promise<void> {
    await this.producer.send({ topic: topics.responses.name, acks: -1, messages: [{ key: res.request_id, value: this.serde.encode(topics.responses, res) }] });
  }

  /** Send a request and wait for what the cache did with it: sent it on, or answered it. */
  async ask(req: LlmRequest, timeoutMs = 20_000): Promise<Outcome> {
    await this.produce(req);
    let out: Outcome | undefined;
    await waitUntil(() => {
      const fwd = this.uncached.get(req.request_id);
      const hit = this.responses.get(req.request_id)?.find((r) => r.served_by === "CACHE_EXACT" || r.served_by === "CACHE_SEMANTIC");
      out = fwd ? { kind: "uncached", request: fwd } : hit ? { kind: "hit", response: hit } : undefined;
      return out !== undefined;
    }, timeoutMs, `the cache's outcome for ${req.request_id}`);
    return out!;
  }

  /** Ask, and wait until the answer the stand-in executor gave has been stored (its pending record is gone). */
  async teach(req: LlmRequest): Promise<void> {
    const out = await this.ask(req);
    if (out.kind !== "uncached") throw new Error(`expected a miss for ${req.request_id}, got a hit from ${out.response.cache_source_request_id}`);
    await waitUntil(async () => (await this.redis.exists(`${this.env.CACHE_KEY_PREFIX}:p:${req.request_id}`)) === 0, 20_000, `learning ${req.request_id}`);
  }

  /** Entries of this run in Redis. */
  /** Entry keys in Redis, of one tenant when given (answers to earlier tests' requests may still be landing). */
  async entryKeys(tenant?: string): Promise<string[]> {
    const out: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await this.redis.scan(cursor, "MATCH", `${this.env.CACHE_KEY_PREFIX}:e:${tenant === undefined ? "" : `${namePart(tenant)}:`}*`, "COUNT", 1000);
      cursor = next;
      out.push(...keys.filter((k) => !k.endsWith(":o"))); // an entry's reuse outcomes live beside it
    } while (cursor !== "0");
    return out;
  }

  async close(): Promise<void> {
    await this.stopService().catch(() => undefined);
    for (const c of this.consumers) await c.disconnect().catch(() => undefined);
    await this.producer.disconnect().catch(() => undefined);
    let cursor = "0";
    do {
      const [next, keys] = await this.redis.scan(cursor, "MATCH", `${this.env.CACHE_KEY_PREFIX}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await this.redis.unlink(...keys);
    } while (cursor !== "0");
    await this.redis.quit();
  }
}

export function answerTo(req: LlmRequest, over: Partial<LlmResponse> = {}): LlmResponse {
  return {
    request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, status: "OK", content: `answer written for ${req.request_id}`, error: null, error_code: null,
    model: "gpt-4o-mini", provider: "openai", served_by: "REALTIME", input_tokens: 40, cached_input_tokens: 0, output_tokens: 25, cost_usd: 0.00002,
    latency_ms: 500, cache_source_request_id: null, created_at: req.created_at, ...over,
  };
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
