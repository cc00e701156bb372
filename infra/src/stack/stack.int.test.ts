import { createClient } from "@clickhouse/client";
import { allTopics, avroSchemas, valueSubject } from "@costwise/schemas";
import { Kafka, logLevel } from "kafkajs";
import { describe, expect, it } from "vitest";
import { loadStackConfig } from "../config.ts";
import { sql, sqlIdentifier } from "../clickhouse/sql.ts";
import { stackEnv } from "../testing/index.ts";
import { loadStackEnv } from "./env-file.ts";
import { isHealthy } from "./health.ts";
import { ensureStack, startService, stopService } from "./stack.ts";

const config = loadStackConfig();

describe("the provisioned local stack", () => {
  it("hands its endpoints to tests, the same as stack.env", () => {
    const env = stackEnv();
    expect(env).toMatchObject(loadStackEnv());
    expect(env.KAFKA_BROKERS).toBe(config.kafka.brokers.join(","));
    expect(env.CLICKHOUSE_DATABASE).toBe(config.clickhouse.database);
  });

  it("has every topic with its partition count", async () => {
    const admin = new Kafka({ brokers: [...config.kafka.brokers], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: allTopics.map((t) => t.name) });
      const counts = Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
      expect(counts).toEqual(Object.fromEntries(allTopics.map((t) => [t.name, t.partitions])));
    } finally {
      await admin.disconnect();
    }
  });

  it("has each value schema registered under <topic>-value with BACKWARD compatibility", async () => {
    for (const topic of allTopics.filter((t) => t.record !== null)) {
      const subject = encodeURIComponent(valueSubject(topic));
      const latest = (await (await fetch(`${config.schemaRegistry.url}/subjects/${subject}/versions/latest`)).json()) as { schema: string };
      expect(JSON.parse(latest.schema)).toEqual(avroSchemas[topic.record!]);
      const compat = await (await fetch(`${config.schemaRegistry.url}/config/${subject}`)).json();
      expect(compat).toMatchObject({ compatibilityLevel: "BACKWARD" });
    }
  });

  it("provisions idempotently: a second ensureStack reuses everything and creates nothing", async () => {
    const info = await ensureStack();
    expect(info.services.every((s) => s.status === "reused")).toBe(true);
    expect(info.provisioned?.topics.created).toEqual([]);
    expect(info.provisioned?.migrations.applied).toEqual([]);
    const versions = await fetch(`${config.schemaRegistry.url}/subjects/${encodeURIComponent(valueSubject(allTopics[0]!))}/versions`);
    expect(await versions.json()).toHaveLength(1);
  });
});

describe("stopService / startService", () => {
  it("takes ClickHouse down and brings it back with its data", async () => {
    const client = () => createClient({ url: config.clickhouse.url, username: config.clickhouse.username, password: config.clickhouse.password });
    const db = sqlIdentifier("costwise_it_restart");
    const table = sqlIdentifier("costwise_it_restart.kept");
    const marker = `kept-${Date.now()}`;
    const before = client();
    await before.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${db}` });
    await before.command({ query: sql`CREATE TABLE IF NOT EXISTS ${table} (v String) ENGINE = MergeTree ORDER BY v` });
    await before.command({ query: sql`INSERT INTO ${table} (v) VALUES (${marker})` });
    await before.close();

    expect(await stopService("clickhouse")).toBe(true);
    expect(await isHealthy(config, "clickhouse")).toBe(false);
    expect(await stopService("clickhouse")).toBe(false); // idempotent

    const state = await startService("clickhouse");
    expect(state.status).toBe("started");
    const after = client();
    try {
      const rows = await (await after.query({ query: sql`SELECT v FROM ${table} WHERE v = ${marker}`, format: "JSONEachRow" })).json();
      expect(rows).toEqual([{ v: marker }]);
      await after.command({ query: sql`DROP DATABASE ${db}` });
    } finally {
      await after.close();
    }
  });
});
