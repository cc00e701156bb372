import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { stackEnv } from "@costwise/infra/testing";
import { createProcess as createExecutorProcess, loadExecutorConfig } from "@costwise/executor";
import { catalog } from "@costwise/pricing";
import { countChatTokens, createProviders } from "@costwise/providers";
import type { TopicSpec } from "@costwise/schemas";
import { clickhouseWriter } from "@costwise/clickhouse-writer";
import { createSinkProcess, loadSinkConfig } from "@costwise/sink";
import { DEFAULT_MODEL } from "@costwise/lifecycle";
import { silentLogger, startService, type RunningService } from "@costwise/stream-runtime";
import { KafkaTestClient } from "@costwise/stream-runtime/testing";
import { insertIsolating } from "@costwise/clickhouse-writer";
import { memoryDistillSwitchStore, type DistillSwitchStore, type FallbackInfo } from "@costwise/route-state";
import type { DistillRuntime } from "../cli.ts";
import type { QueryFn } from "../export.ts";
import { openAiFineTuneApi } from "../finetune-api.ts";
import { redisJobStore, type JobStore } from "../jobs.ts";
import { DISTILL_TABLES } from "../shadow.ts";
import { providersConfigSchema } from "@costwise/providers";
import { localEmbedder } from "@costwise/embeddings";
import { repoRoot } from "@costwise/infra";

/** The real stack, for one integration test file: unique ids per run, consumers that start at the end of their topics. */
export class IntStack {
  readonly env = stackEnv();
  readonly run = `dst-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  readonly ch: ClickHouseClient;
  readonly database = process.env.CLICKHOUSE_DATABASE ?? "costwise";
  readonly client: KafkaTestClient;
  private readonly services: RunningService[] = [];
  private readonly closers: (() => Promise<void>)[] = [];
  private embedder: ReturnType<typeof localEmbedder> | undefined;

  constructor() {
    this.ch = createClient({ url: this.env.CLICKHOUSE_URL!, request_timeout: 30_000 });
    this.client = KafkaTestClient.connect({ KAFKA_BROKERS: this.env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: this.env.SCHEMA_REGISTRY_URL! }, { clientId: `costwise-${this.run}` });
  }

  /** Environment for a service config: the stack plus a unique consumer group. */
  config(group: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, ...this.env, GROUP_ID: `${this.run}-${group}`, METRICS_PORT: "0", LOG_LEVEL: "warn", SESSION_TIMEOUT_MS: "6000", ...extra };
  }

  /** Commit the end of each topic for the group, so the service reads only this run's messages. */
  async startAtEnd(group: string, topicList: readonly TopicSpec[]): Promise<void> {
    for (const t of topicList) await this.client.startGroupAtEnd(`${this.run}-${group}`, t);
  }

  track<T extends RunningService>(svc: T): T {
    this.services.push(svc);
    return svc;
  }

  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  /** The executor, in process, reading `input` (the tests skip the stages before it). */
  async startExecutor(input: TopicSpec, topicsOut: readonly TopicSpec[], group = "executor"): Promise<void> {
    const config = loadExecutorConfig(this.config(group));
    await this.startAtEnd(group, [input]);
    const providers = createProviders(config, { catalog, logger: silentLogger });
    this.track(
      await startService({
        name: "executor", input, outputs: topicsOut, config, logger: silentLogger,
        process: createExecutorProcess({ providers, catalog, countTokens: countChatTokens, defaultModel: DEFAULT_MODEL, now: Date.now }),
        resources: [{ name: "providers", close: () => providers.close() }],
      }),
    );
  }

  /** The sink, in process, landing `inputs` in ClickHouse. */
  async startSink(inputs: readonly TopicSpec[]): Promise<void> {
    const config = loadSinkConfig(this.config("sink", { RETRY_ATTEMPTS: "20" }));
    await this.startAtEnd("sink", inputs);
    const client = createClient({ url: this.env.CLICKHOUSE_URL!, request_timeout: 30_000 });
    this.track(
      await startService({
        name: "sink", input: inputs, outputs: [], config, logger: silentLogger,
        processBatch: createSinkProcess({ writer: clickhouseWriter(client, this.database), now: Date.now }),
        resources: [{ name: "clickhouse", close: () => client.close() }],
      }),
    );
  }

  produce<T extends object>(topic: TopicSpec, values: readonly (T & { request_id: string })[]): Promise<void> {
    return this.client.produce(topic, values);
  }

  /** Collect this run's records of a topic (keys contain the run id), from the moment this returns. */
  async listen<T>(topic: TopicSpec): Promise<Map<string, T>> {
    const got = new Map<string, T>();
    await this.client.subscribe<T>(topic, ({ key, value }) => void (key?.includes(this.run) && got.set(key, value)), { groupId: `${this.run}-listen-${topic.name}` });
    return got;
  }

  /**
   * A `costwise distill` runtime on the real stack: ClickHouse, this run's Redis job hash, the
   * providers (the emulator without keys) for fine-tuning and candidate calls. `close` of the
   * returned runtime is a no-op: what it opens closes with the stack, so several CLI runs share it.
   */
  distillRuntime(opts: { switches?: DistillSwitchStore; fallbacks?: () => Promise<ReadonlyMap<string, FallbackInfo>>; jobs?: JobStore } = {}): DistillRuntime {
    const providers = createProviders(providersConfigSchema.parse(this.config("cli")), { catalog, logger: silentLogger });
    const jobs = opts.jobs ?? redisJobStore(this.env.REDIS_URL!, { key: `costwise:distill:jobs:${this.run}` });
    this.onClose(async () => {
      await providers.close();
      if (!opts.jobs) await jobs.close();
    });
    const writer = clickhouseWriter(this.ch, this.database);
    return {
      query: this.query, database: this.database, switches: opts.switches ?? memoryDistillSwitchStore(), fallbacks: opts.fallbacks ?? (async () => new Map()),
      jobs, fineTune: openAiFineTuneApi(providers.openai, { timeoutMs: 10_000 }), chat: providers,
      writeShadow: async (rows) => (await insertIsolating(writer, DISTILL_TABLES.shadow, rows, (r) => r)).length,
      embedder: async () => (this.embedder ??= localEmbedder({ modelDir: path.join(repoRoot, ".costwise", "models", "all-MiniLM-L6-v2"), threads: 1 })),
      close: async () => {},
    };
  }

  query: QueryFn = async <T>(q: string) => (await this.ch.query({ query: q, format: "JSONEachRow" })).json<T>();

  /** Poll until `check` returns a value (not undefined), or fail with what was last seen. */
  async until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 45_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      try {
        const v = await check();
        if (v !== undefined) return v;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** A file in a fresh temporary directory. */
  tempFile(name: string, text: string): string {
    const file = path.join(mkdtempSync(path.join(tmpdir(), `${this.run}-`)), name);
    writeFileSync(file, text);
    return file;
  }

  async close(): Promise<void> {
    for (const s of this.services.reverse()) await s.stop().catch(() => undefined);
    for (const c of this.closers.reverse()) await c().catch(() => undefined);
    await this.client.close();
    await this.ch.close();
  }
}
