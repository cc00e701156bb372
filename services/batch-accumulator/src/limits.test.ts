import { describe, expect, it } from "vitest";
import { effectiveLimits } from "./limits.ts";

describe("provider batch limits", () => {
  it("caps the configured batch size at what each provider accepts", () => {
    expect(effectiveLimits("openai", { maxRequests: 80_000, maxBytes: 1e9 })).toEqual({ maxRequests: 50_000, maxBytes: 200_000_000 });
    expect(effectiveLimits("anthropic", { maxRequests: 80_000, maxBytes: 1e9 })).toEqual({ maxRequests: 80_000, maxBytes: 256_000_000 });
    expect(effectiveLimits("anthropic", { maxRequests: 10, maxBytes: 5_000 })).toEqual({ maxRequests: 10, maxBytes: 5_000 });
  });
});
