import path from "node:path";
import { describe, expect, it } from "vitest";
import { enabledServices, loadStackConfig, StackConfigError } from "./config.ts";

const ROOT = "/repo";

describe("loadStackConfig", () => {
  it("defaults to the local stack's ports under <repo>/.costwise", () => {
    const c = loadStackConfig({}, ROOT);
    expect(c.mode).toBe("auto");
    expect(c.home).toBe(path.join(ROOT, ".costwise"));
    expect(c.kafka).toMatchObject({ brokers: ["127.0.0.1:19092"], host: "127.0.0.1", port: 19092, controllerPort: 19093 });
    expect(c.schemaRegistry).toMatchObject({ url: "http://127.0.0.1:18081/apis/ccompat/v7", port: 18081, managementPort: 19001 });
    expect(c.redis).toMatchObject({ url: "redis://127.0.0.1:16379", port: 16379 });
    expect(c.clickhouse).toMatchObject({ url: "http://127.0.0.1:18123", port: 18123, tcpPort: 19000, database: "costwise", username: "default" });
    expect(c.emulator).toMatchObject({ url: "http://127.0.0.1:18090", port: 18090, enabled: true });
    expect(enabledServices(c)).toEqual(["kafka", "schema-registry", "redis", "clickhouse", "emulator"]);
  });

  it("takes endpoint overrides from the environment", () => {
    const c = loadStackConfig(
      {
        STACK_MODE: "native",
        COSTWISE_HOME: "/tmp/cw",
        KAFKA_BROKERS: "localhost:29092, localhost:29093",
        SCHEMA_REGISTRY_URL: "http://localhost:28081/apis/ccompat/v7/",
        REDIS_URL: "redis://localhost:26379",
        CLICKHOUSE_URL: "http://localhost:28123",
        CLICKHOUSE_DATABASE: "cw_test",
        EMULATOR_URL: "http://localhost:28090",
      },
      ROOT,
    );
    expect(c.mode).toBe("native");
    expect(c.home).toBe("/tmp/cw");
    expect(c.kafka).toMatchObject({ brokers: ["localhost:29092", "localhost:29093"], host: "localhost", port: 29092 });
    expect(c.schemaRegistry.url).toBe("http://localhost:28081/apis/ccompat/v7");
    expect(c.redis.port).toBe(26379);
    expect(c.clickhouse).toMatchObject({ port: 28123, database: "cw_test" });
    expect(c.emulator.port).toBe(28090);
  });

  it("resolves a relative COSTWISE_HOME against the repo and treats empty values as unset", () => {
    expect(loadStackConfig({ COSTWISE_HOME: "tmp/home" }, ROOT).home).toBe(path.join(ROOT, "tmp/home"));
    expect(loadStackConfig({ COSTWISE_HOME: "", OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "" }, ROOT)).toMatchObject({
      home: path.join(ROOT, ".costwise"),
      emulator: { enabled: true },
    });
  });

  it("skips the emulator only when both provider keys are set", () => {
    expect(loadStackConfig({ OPENAI_API_KEY: "sk-a" }, ROOT).emulator.enabled).toBe(true);
    expect(loadStackConfig({ ANTHROPIC_API_KEY: "sk-b" }, ROOT).emulator.enabled).toBe(true);
    const both = loadStackConfig({ OPENAI_API_KEY: "sk-a", ANTHROPIC_API_KEY: "sk-b" }, ROOT);
    expect(both.emulator.enabled).toBe(false);
    expect(enabledServices(both)).not.toContain("emulator");
  });

  it("rejects bad values with one error naming each variable", () => {
    try {
      loadStackConfig({ STACK_MODE: "podman", KAFKA_BROKERS: "no-port", REDIS_URL: "not a url", CLICKHOUSE_DATABASE: "x-y" }, ROOT);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(StackConfigError);
      const msg = (err as Error).message;
      for (const v of ["STACK_MODE", "KAFKA_BROKERS", "REDIS_URL", "CLICKHOUSE_DATABASE"]) expect(msg).toContain(v);
    }
  });

  it("rejects two local services on one port", () => {
    expect(() => loadStackConfig({ REDIS_URL: "redis://127.0.0.1:18123" }, ROOT)).toThrow(/REDIS_URL and CLICKHOUSE_URL|CLICKHOUSE_URL and REDIS_URL/);
    expect(() => loadStackConfig({ KAFKA_CONTROLLER_PORT: "19092" }, ROOT)).toThrow(StackConfigError);
  });
});
