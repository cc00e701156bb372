import { catalog, requireModel } from "@costwise/pricing";
import { describe, expect, it } from "vitest";
import { buildAnthropicParams } from "./anthropic-chat.ts";
import { breakEvenReads, minCacheableTokens, planPromptCache, PrefixSightings, PROMPT_CACHE_TTL_MS } from "./prompt-cache.ts";
import type { ChatRequest } from "./types.ts";

const sonnet = requireModel(catalog, "claude-sonnet-4-5");
const haiku = requireModel(catalog, "claude-haiku-4-5");
// ~1500 tokens: above Sonnet's minimum, below Haiku 4.5's.
const LONG_SYSTEM = Array.from({ length: 300 }, (_, i) => `Rule ${i}: answer politely.`).join(" ");
const TOOL = { name: "lookup", description: "Look an order up", parameters: JSON.stringify({ type: "object", properties: { id: { type: "string" } } }), strict: null };

function req(over: Partial<ChatRequest> = {}): ChatRequest {
  return { model: "claude-sonnet-4-5", messages: [{ role: "system", content: LONG_SYSTEM }, { role: "user", content: "Where is my order?" }], ...over };
}

describe("breakEvenReads", () => {
  it("is the write premium over the read discount (0.25 / 0.9 on Anthropic's 5-minute prices)", () => {
    expect(breakEvenReads(sonnet)).toBeCloseTo(0.25 / 0.9, 6);
  });
  it("is infinite when reads are not discounted", () => {
    expect(breakEvenReads({ ...sonnet, cachedInputPerMTok: null })).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("minCacheableTokens", () => {
  it("follows the documented minimums", () => {
    expect(minCacheableTokens("claude-sonnet-4-5")).toBe(1024);
    expect(minCacheableTokens("claude-opus-4-1")).toBe(1024);
    expect(minCacheableTokens("claude-3-5-haiku")).toBe(2048);
    expect(minCacheableTokens("claude-haiku-4-5")).toBe(4096);
    expect(minCacheableTokens("claude-opus-4-5")).toBe(4096);
  });
});

describe("PrefixSightings", () => {
  it("counts sightings within the window only", () => {
    const s = new PrefixSightings(1000);
    expect(s.record("k", 0)).toBe(0);
    expect(s.record("k", 500)).toBe(1);
    expect(s.record("k", 1400)).toBe(1);
    expect(s.record("other", 1400)).toBe(0);
  });
});

describe("planPromptCache", () => {
  it("auto: the first sighting only records, the second marks the system prompt", () => {
    const sightings = new PrefixSightings();
    const first = planPromptCache(buildAnthropicParams(req(), sonnet), sonnet, { mode: "auto", sightings, now: 0 });
    expect(first.breakpoints).toEqual([]);
    expect(first.params.system).toBe(LONG_SYSTEM);
    const second = planPromptCache(buildAnthropicParams(req({ messages: [{ role: "system", content: LONG_SYSTEM }, { role: "user", content: "Other question" }] }), sonnet), sonnet, { mode: "auto", sightings, now: 1000 });
    expect(second.breakpoints).toHaveLength(1);
    expect(second.breakpoints[0]).toMatchObject({ kind: "system", seenBefore: 1 });
    expect(second.breakpoints[0]!.prefixTokens).toBeGreaterThanOrEqual(1024);
    expect(second.params.system).toEqual([{ type: "text", text: LONG_SYSTEM, cache_control: { type: "ephemeral" } }]);
    // The user's turn is untouched.
    expect(second.params.messages).toEqual([{ role: "user", content: "Other question" }]);
  });

  it("auto: a prefix last seen outside the cache lifetime is not marked", () => {
    const sightings = new PrefixSightings();
    planPromptCache(buildAnthropicParams(req(), sonnet), sonnet, { mode: "auto", sightings, now: 0 });
    const late = planPromptCache(buildAnthropicParams(req(), sonnet), sonnet, { mode: "auto", sightings, now: PROMPT_CACHE_TTL_MS + 1 });
    expect(late.breakpoints).toEqual([]);
  });

  it("a different model is a different prefix", () => {
    const sightings = new PrefixSightings();
    const opus = requireModel(catalog, "claude-opus-4-1");
    planPromptCache(buildAnthropicParams(req({ model: opus.id }), opus), opus, { mode: "auto", sightings, now: 0 });
    expect(planPromptCache(buildAnthropicParams(req(), sonnet), sonnet, { mode: "auto", sightings, now: 1 }).breakpoints).toEqual([]);
  });

  it("always: marks at first sight; never below the model's minimum", () => {
    const sightings = new PrefixSightings();
    expect(planPromptCache(buildAnthropicParams(req(), sonnet), sonnet, { mode: "always", sightings, now: 0 }).breakpoints).toHaveLength(1);
    expect(planPromptCache(buildAnthropicParams(req({ model: haiku.id }), haiku), haiku, { mode: "always", sightings, now: 0 }).breakpoints).toEqual([]);
    const short = req({ messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }] });
    expect(planPromptCache(buildAnthropicParams(short, sonnet), sonnet, { mode: "always", sightings, now: 0 }).breakpoints).toEqual([]);
  });

  it("off: never marks", () => {
    const sightings = new PrefixSightings();
    for (let i = 0; i < 3; i++) expect(planPromptCache(buildAnthropicParams(req(), sonnet), sonnet, { mode: "off", sightings, now: i }).breakpoints).toEqual([]);
  });

  it("marks tools, system and earlier turns in cache order, within the breakpoint limit, without editing the input", () => {
    const sightings = new PrefixSightings();
    const r = req({
      tools: [TOOL, { ...TOOL, name: "refund" }],
      messages: [
        { role: "system", content: LONG_SYSTEM },
        { role: "user", content: "first question" },
        { role: "assistant", content: "first answer" },
        { role: "user", content: "follow-up" },
      ],
    });
    const params = buildAnthropicParams(r, sonnet);
    const before = JSON.stringify(params);
    const plan = planPromptCache(params, sonnet, { mode: "always", sightings, now: 0 });
    expect(JSON.stringify(params)).toBe(before);
    // The tools alone are below the minimum; system and history are above it.
    expect(plan.breakpoints.map((b) => b.kind)).toEqual(["system", "history"]);
    expect(plan.breakpoints.length).toBeLessThanOrEqual(4);
    expect(plan.params.tools?.some((t) => "cache_control" in t)).toBe(false);
    expect(plan.params.messages[1]).toEqual({ role: "assistant", content: [{ type: "text", text: "first answer", cache_control: { type: "ephemeral" } }] });
    expect(plan.params.messages[2]).toEqual({ role: "user", content: "follow-up" });
  });

  it("marks the last tool when the tool definitions alone are long enough", () => {
    const big = { ...TOOL, description: LONG_SYSTEM };
    const plan = planPromptCache(buildAnthropicParams(req({ tools: [TOOL, big] }), sonnet), sonnet, { mode: "always", sightings: new PrefixSightings(), now: 0 });
    expect(plan.breakpoints.map((b) => b.kind)).toEqual(["tools", "system"]);
    expect(plan.params.tools?.[1]).toMatchObject({ name: "lookup", cache_control: { type: "ephemeral" } });
    expect(plan.params.tools?.[0]).not.toHaveProperty("cache_control");
  });
});
