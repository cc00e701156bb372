import { catalog } from "@costwise/pricing";
import { ConfigError } from "@costwise/stream-runtime";
import { describe, expect, it } from "vitest";
import { parseFallbackModels, providersConfigSchema } from "./config.ts";
import { resolveEndpoints, resolveFallbacks } from "./providers.ts";

describe("parseFallbackModels", () => {
  it("parses comma-separated model=fallback pairs, tolerating spaces", () => {
    expect(parseFallbackModels("gpt-4o=gpt-4o-mini, claude-sonnet-4-5 = claude-haiku-4-5,")).toEqual({
      "gpt-4o": "gpt-4o-mini",
      "claude-sonnet-4-5": "claude-haiku-4-5",
    });
    expect(parseFallbackModels("")).toEqual({});
  });

  it("rejects malformed, duplicate and self-referencing entries", () => {
    expect(() => parseFallbackModels("gpt-4o")).toThrow(/model=fallback/);
    expect(() => parseFallbackModels("gpt-4o=")).toThrow(/model=fallback/);
    expect(() => parseFallbackModels("a=b=c")).toThrow(/model=fallback/);
    expect(() => parseFallbackModels("gpt-4o=a,GPT-4o=b")).toThrow(/more than one/);
    expect(() => parseFallbackModels("gpt-4o=GPT-4O")).toThrow(/itself/);
  });
});

describe("providersConfigSchema", () => {
  it("applies the documented defaults", () => {
    const c = providersConfigSchema.parse({});
    expect(c).toEqual({
      EMULATOR_URL: "http://127.0.0.1:18090",
      OPENAI_CONCURRENCY: 64,
      ANTHROPIC_CONCURRENCY: 32,
      PROVIDER_TIMEOUT_MS: 60_000,
      PROVIDER_MAX_ATTEMPTS: 4,
      PROVIDER_RETRY_INITIAL_MS: 500,
      PROVIDER_RETRY_MAX_MS: 8_000,
      FALLBACK_MODELS: {},
      UNPRICED_MODELS: "serve",
      PROMPT_CACHE: "auto",
    });
  });

  it("takes PROMPT_CACHE as auto, off or always only", () => {
    expect(providersConfigSchema.parse({ PROMPT_CACHE: "off" }).PROMPT_CACHE).toBe("off");
    expect(() => providersConfigSchema.parse({ PROMPT_CACHE: "sometimes" })).toThrow();
  });

  it("coerces env strings and parses FALLBACK_MODELS", () => {
    const c = providersConfigSchema.parse({ OPENAI_CONCURRENCY: "8", FALLBACK_MODELS: "gpt-4o=gpt-4o-mini" });
    expect(c.OPENAI_CONCURRENCY).toBe(8);
    expect(c.FALLBACK_MODELS).toEqual({ "gpt-4o": "gpt-4o-mini" });
  });

  it("rejects bad values with the variable's name", () => {
    const r = providersConfigSchema.safeParse({ PROVIDER_MAX_ATTEMPTS: "0", FALLBACK_MODELS: "oops" });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path[0]).sort()).toEqual(["FALLBACK_MODELS", "PROVIDER_MAX_ATTEMPTS"]);
  });

  it("composes into a service's own schema", () => {
    const s = providersConfigSchema.extend({ OTHER: providersConfigSchema.shape.EMULATOR_URL });
    expect(s.parse({}).OTHER).toBe("http://127.0.0.1:18090");
  });
});

describe("resolveEndpoints", () => {
  it("points a provider without a key at the emulator with a placeholder key", () => {
    const e = resolveEndpoints(providersConfigSchema.parse({ EMULATOR_URL: "http://127.0.0.1:18090/" }));
    expect(e.openai).toEqual({ baseURL: "http://127.0.0.1:18090/v1", apiKey: "costwise-emulator", usingEmulator: true });
    expect(e.anthropic).toEqual({ baseURL: "http://127.0.0.1:18090", apiKey: "costwise-emulator", usingEmulator: true });
  });

  it("uses the real APIs for providers that have keys, each independently", () => {
    const e = resolveEndpoints(providersConfigSchema.parse({ OPENAI_API_KEY: "sk-real" }));
    expect(e.openai).toEqual({ baseURL: "https://api.openai.com/v1", apiKey: "sk-real", usingEmulator: false });
    expect(e.anthropic.usingEmulator).toBe(true);
  });

  it("lets explicit base URLs override both", () => {
    const e = resolveEndpoints(
      providersConfigSchema.parse({
        ANTHROPIC_API_KEY: "sk-ant",
        ANTHROPIC_BASE_URL: "https://gateway.example/anthropic",
        OPENAI_BASE_URL: "http://10.0.0.5:9000/v1",
      }),
    );
    expect(e.anthropic.baseURL).toBe("https://gateway.example/anthropic");
    expect(e.openai.baseURL).toBe("http://10.0.0.5:9000/v1");
  });
});

describe("resolveFallbacks", () => {
  it("keys fallbacks by canonical model id so dated aliases fall back too", () => {
    const m = resolveFallbacks({ "gpt-4o": "gpt-4o-mini" }, catalog);
    expect(m.get("gpt-4o")).toBe("gpt-4o-mini");
  });

  it("refuses unknown, non-chat or self fallbacks at start-up", () => {
    expect(() => resolveFallbacks({ "gpt-4o": "gpt-9" }, catalog)).toThrow(ConfigError);
    expect(() => resolveFallbacks({ "gpt-4o": "text-embedding-3-small" }, catalog)).toThrow(/chat models/);
    expect(() => resolveFallbacks({ "gpt-5": "gpt-5-2025-08-07" }, catalog)).toThrow(/itself/);
  });
});
