import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadStackConfig } from "../config.ts";
import { loadStackEnv, renderStackEnv, stackEnvValues, writeStackEnv } from "./env-file.ts";
import { StackError } from "./errors.ts";

describe("stack.env", () => {
  it("points provider SDKs at the emulator when no API key is set", () => {
    const env = stackEnvValues(loadStackConfig({}, "/repo"));
    expect(env).toEqual({
      KAFKA_BROKERS: "127.0.0.1:19092",
      SCHEMA_REGISTRY_URL: "http://127.0.0.1:18081/apis/ccompat/v7",
      REDIS_URL: "redis://127.0.0.1:16379",
      CLICKHOUSE_URL: "http://127.0.0.1:18123",
      CLICKHOUSE_DATABASE: "costwise",
      CLICKHOUSE_USER: "default",
      EMULATOR_URL: "http://127.0.0.1:18090",
      OPENAI_BASE_URL: "http://127.0.0.1:18090/v1",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:18090",
    });
  });

  it("leaves a provider with a real key on its real API, and never writes keys", () => {
    const one = stackEnvValues(loadStackConfig({ OPENAI_API_KEY: "sk-secret-1" }, "/repo"));
    expect(one.OPENAI_BASE_URL).toBeUndefined();
    expect(one.ANTHROPIC_BASE_URL).toBe("http://127.0.0.1:18090");
    const both = stackEnvValues(loadStackConfig({ OPENAI_API_KEY: "sk-secret-1", ANTHROPIC_API_KEY: "sk-secret-2" }, "/repo"));
    expect(both.EMULATOR_URL).toBeUndefined();
    expect(both.ANTHROPIC_BASE_URL).toBeUndefined();
    expect(renderStackEnv(both)).not.toMatch(/secret/);
  });

  it("round-trips through the file, and fills only unset variables unless told to override", async () => {
    const home = await mkdtemp(path.join(tmpdir(), "cw-env-"));
    const values = stackEnvValues(loadStackConfig({}, "/repo"));
    await writeStackEnv(path.join(home, "stack.env"), values);
    expect(loadStackEnv({ home })).toEqual(values);

    const target: NodeJS.ProcessEnv = { KAFKA_BROKERS: "elsewhere:9092", REDIS_URL: "" };
    loadStackEnv({ home, into: target });
    expect(target.KAFKA_BROKERS).toBe("elsewhere:9092");
    expect(target.REDIS_URL).toBe("redis://127.0.0.1:16379");
    loadStackEnv({ home, into: target, override: true });
    expect(target.KAFKA_BROKERS).toBe("127.0.0.1:19092");
  });

  it("says to run stack:up when there is no stack.env", async () => {
    const home = await mkdtemp(path.join(tmpdir(), "cw-env-"));
    expect(() => loadStackEnv({ home })).toThrow(/npm run stack:up/);
    await writeFile(path.join(home, "stack.env"), "# only a comment\n");
    expect(loadStackEnv({ home })).toEqual({});
  });

  it("refuses values that would need quoting", () => {
    expect(() => renderStackEnv({ A: "has space" })).toThrow(StackError);
  });
});
