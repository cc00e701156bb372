import { describe, expect, it } from "vitest";
import { ConfigError } from "@costwise/stream-runtime";
import { loadCacheConfig } from "./config.ts";

describe("cache config", () => {
  it("defaults to the local model under COSTWISE_HOME, a 50 ms Redis bound and metrics on 9403", () => {
    const c = loadCacheConfig({ COSTWISE_HOME: "/srv/costwise" });
    expect(c).toMatchObject({
      CACHE_EMBEDDINGS: "local", CACHE_EMBEDDING_MODEL_DIR: "/srv/costwise/models/bge-small-en-v1.5-q", CACHE_REDIS_TIMEOUT_MS: 50,
      METRICS_PORT: 9403, CACHE_BASELINE_MODEL: "gpt-4o", CACHE_KEY_PREFIX: "cw:cache",
    });
    expect(c.CACHE_POLICY_FILE).toMatch(/services\/cache\/config\/policy\.yaml$/);
  });

  it("finds another local model under COSTWISE_HOME by its name", () => {
    const c = loadCacheConfig({ COSTWISE_HOME: "/srv/costwise", CACHE_EMBEDDING_MODEL: "bge-small-en-v1.5-q" });
    expect(c.CACHE_EMBEDDING_MODEL_DIR).toBe("/srv/costwise/models/bge-small-en-v1.5-q");
    expect(loadCacheConfig({ CACHE_EMBEDDING_MODEL_DIR: "/opt/m" }).CACHE_EMBEDDING_MODEL_DIR).toBe("/opt/m");
  });

  it("prices hits against the executor's default model unless told otherwise", () => {
    expect(loadCacheConfig({ EXECUTOR_DEFAULT_MODEL: "claude-sonnet-4-5" }).CACHE_BASELINE_MODEL).toBe("claude-sonnet-4-5");
    expect(loadCacheConfig({ EXECUTOR_DEFAULT_MODEL: "claude-sonnet-4-5", CACHE_BASELINE_MODEL: "gpt-4o-mini" }).CACHE_BASELINE_MODEL).toBe("gpt-4o-mini");
  });

  it("names every bad variable", () => {
    expect(() => loadCacheConfig({ CACHE_EMBEDDINGS: "cohere", CACHE_KEY_PREFIX: "bad prefix!" })).toThrow(ConfigError);
    expect(() => loadCacheConfig({ CACHE_EMBEDDINGS: "cohere", CACHE_KEY_PREFIX: "bad prefix!" })).toThrow(/CACHE_EMBEDDINGS[\s\S]*CACHE_KEY_PREFIX|CACHE_KEY_PREFIX[\s\S]*CACHE_EMBEDDINGS/);
  });
});
