import { describe, expect, it } from "vitest";
import { newRequest, type LlmRequest } from "@costwise/schemas";
import { canonicalize, eligibility } from "./key.ts";
import { useCasePolicySchema, type UseCasePolicy } from "./policy.ts";

const policy = (over: Record<string, unknown> = {}): UseCasePolicy => useCasePolicySchema.parse({ mode: "semantic", threshold: 0.9, ...over });
const req = (over: Partial<LlmRequest> = {}) =>
  newRequest({
    request_id: "r1", tenant: "acme", use_case: "support", model: "gpt-4o", temperature: 0, max_tokens: 200, created_at: 1,
    messages: [{ role: "system", content: "You are a bank assistant." }, { role: "user", content: "Where is my card?" }],
    ...over,
  });
const canon = (r: LlmRequest, p = policy()) => canonicalize(r, p);

describe("canonical request key", () => {
  it("keeps the key of a plain text request, and ignores a tool schema's key order and formatting", () => {
    // A request from before tools existed (no option fields at all) and one with them at their defaults.
    const plain = req();
    for (const k of ["tools", "tool_choice", "response_format", "stop", "seed"] as const) delete plain[k];
    expect(canon(req({ tools: [], stop: [], response_format: null })).key).toBe(canon(plain).key);
    const tool = (parameters: string) => req({ tools: [{ name: "f", description: null, parameters, strict: null }] });
    expect(canon(tool('{"type":"object","properties":{"a":{"type":"string"}}}')).key).toBe(canon(tool('{ "properties": { "a": { "type": "string" } }, "type": "object" }')).key);
  });

  it("keys tool results by the call they answer, when the policy caches tool conversations", () => {
    const convo = (result: string) => req({ messages: [
      { role: "user", content: "Where is my card?" }, { role: "assistant", content: "", tool_calls: [{ id: "c1", name: "track", arguments: '{"id":"7"}' }] },
      { role: "tool", content: result, tool_call_id: "c1" }, { role: "user", content: "And when will it arrive?" },
    ] });
    const p = policy({ allow_tools: true });
    expect(canon(convo("in transit"), p).key).not.toBe(canon(convo("delivered"), p).key);
    expect(eligibility(convo("x"), policy())?.kind).toBe("bypass");
  });

  it("is stable for equal requests and ignores request id, time, tags it was not told about and whitespace", () => {
    const a = canon(req());
    const b = canon(req({ request_id: "r2", created_at: 99, tags: { trace: "x" }, messages: [{ role: "system", content: "You are a  bank assistant.\n" }, { role: "user", content: "  Where is my card?" }] }));
    expect(b).toEqual(a);
    expect(a.key).toMatch(/^[0-9a-f]{32}$/);
    expect(a.query).toBe("Where is my card?");
  });

  it("treats Unicode compatibility forms as the same text", () => {
    expect(canon(req({ messages: [{ role: "user", content: "ﬁnd my card" }] })).key).toBe(canon(req({ messages: [{ role: "user", content: "find my card" }] })).key);
  });

  it.each<[string, Partial<LlmRequest>]>([
    ["tenant", { tenant: "globex" }],
    ["model", { model: "gpt-4o-mini" }],
    ["max_tokens", { max_tokens: 50 }],
    ["temperature", { temperature: 0.2 }],
    ["system prompt", { messages: [{ role: "system", content: "You are a pirate." }, { role: "user", content: "Where is my card?" }] }],
    ["use case", { use_case: "sales" }],
    ["tool set", { tools: [{ name: "get_card_status", description: null, parameters: '{"type":"object"}', strict: null }] }],
    ["tool schema", { tools: [{ name: "get_card_status", description: null, parameters: '{"type":"object","properties":{"id":{"type":"string"}}}', strict: null }] }],
    ["output format", { response_format: { type: "json_object", name: null, schema: null, strict: null } }],
    ["output schema", { response_format: { type: "json_schema", name: "a", schema: '{"type":"object","properties":{"x":{"type":"number"}}}', strict: true } }],
    ["tool choice", { tools: [{ name: "get_card_status", description: null, parameters: '{"type":"object"}', strict: null }], tool_choice: { mode: "required", name: null } }],
    ["stop sequences", { stop: ["END"] }],
    ["seed", { seed: 3 }],
    ["question's image", { messages: [{ role: "system", content: "You are a bank assistant." }, { role: "user", content: "Where is my card?", parts: [{ type: "image", text: null, image_url: "https://x.test/card.png", detail: null }] }] }],
  ])("puts the %s in both the scope and the key", (_name, over) => {
    const a = canon(req());
    const b = canon(req(over));
    expect(b.scope).not.toBe(a.scope);
    expect(b.key).not.toBe(a.key);
    expect(b.query).toBe(a.query);
  });

  it("keeps the scope and changes only the key when only the question differs", () => {
    const a = canon(req());
    const b = canon(req({ messages: [{ role: "system", content: "You are a bank assistant." }, { role: "user", content: "Where is my new card?" }] }));
    expect(b.scope).toBe(a.scope);
    expect(b.key).not.toBe(a.key);
  });

  it("covers the whole conversation by default, only the last turn when the use case says so", () => {
    const turn = (earlier: string): LlmRequest =>
      req({ messages: [{ role: "user", content: earlier }, { role: "assistant", content: "Sure." }, { role: "user", content: "And the second largest?" }] });
    expect(canon(turn("Which is the largest city in France?")).scope).not.toBe(canon(turn("Which is the largest lake in Africa?")).scope);
    const last = policy({ conversation: "last_turn" });
    expect(canon(turn("Which is the largest city in France?"), last).key).toBe(canon(turn("Which is the largest lake in Africa?"), last).key);
  });

  it("fingerprints retrieved context, order included, unless the use case ignores it", () => {
    const ctx = (ids: string[]) => req({ context: ids.map((id) => ({ id, text: `passage ${id}`, score: 0.5 })) });
    expect(canon(ctx(["a", "b"])).key).not.toBe(canon(ctx(["a", "c"])).key);
    expect(canon(ctx(["a", "b"])).key).not.toBe(canon(ctx(["b", "a"])).key);
    expect(canon(ctx(["a", "b"])).key).not.toBe(canon(req()).key);
    const ignore = policy({ context: "ignore" });
    expect(canon(ctx(["a", "b"]), ignore).key).toBe(canon(ctx(["a", "c"]), ignore).key);
  });

  it("embeds only the captured query of a templated prompt and keeps the template in the scope", () => {
    const triage = policy({ query_pattern: "Message:\\s*([\\s\\S]+)$" });
    const prompt = (labels: string, msg: string) => req({ messages: [{ role: "user", content: `Classify into one of: ${labels}.\n\nMessage: ${msg}` }] });
    const a = canon(prompt("card_arrival, refund", "my card never came"), triage);
    expect(a.query).toBe("my card never came");
    expect(canon(prompt("card_arrival, refund", "where's my refund"), triage).scope).toBe(a.scope);
    expect(canon(prompt("card_arrival, refund, top_up", "my card never came"), triage).scope).not.toBe(a.scope);
  });

  it("uses the whole message as the query when the pattern does not match", () => {
    const triage = policy({ query_pattern: "Message:\\s*([\\s\\S]+)$" });
    expect(canon(req({ messages: [{ role: "user", content: "no template here" }] }), triage).query).toBe("no template here");
  });

  it("adds the values of key tags, and only those", () => {
    const tiered = policy({ key_tags: ["tier"] });
    expect(canon(req({ tags: { tier: "small" } }), tiered).key).not.toBe(canon(req({ tags: { tier: "frontier" } }), tiered).key);
    expect(canon(req({ tags: { tier: "small", trace: "1" } }), tiered).key).toBe(canon(req({ tags: { tier: "small", trace: "2" } }), tiered).key);
  });
});

describe("eligibility", () => {
  it.each<[string, Partial<LlmRequest>, Record<string, unknown>, string | null]>([
    ["a temperature-0 request", {}, {}, null],
    ["tags.cache = off", { tags: { cache: "off" } }, {}, "bypass"],
    ["tags.cache = OFF", { tags: { cache: "OFF" } }, {}, "bypass"],
    ["temperature 0.7", { temperature: 0.7 }, {}, "bypass"],
    ["unset temperature (provider default samples)", { temperature: null }, {}, "bypass"],
    ["temperature 0.7 where sampling is allowed", { temperature: 0.7 }, { allow_sampling: true }, null],
    ["tool messages", { messages: [{ role: "user", content: "weather?" }, { role: "tool", content: "{\"t\":3}" }, { role: "user", content: "so?" }] }, {}, "bypass"],
    ["tool messages where tools are allowed", { messages: [{ role: "user", content: "weather?" }, { role: "tool", content: "{}" }, { role: "user", content: "so?" }] }, { allow_tools: true }, null],
    ["no user message", { messages: [{ role: "system", content: "hi" }] }, {}, "bypass"],
    ["a use case with caching off", {}, { mode: "off" }, "off"],
  ])("%s", (_name, over, pol, expected) => {
    const p = useCasePolicySchema.parse({ mode: "exact", ...pol });
    expect(eligibility(req(over), p)?.kind ?? null).toBe(expected);
  });

  it("explains a bypass without quoting the request", () => {
    expect(eligibility(req({ temperature: 0.7 }), policy())?.reason).toBe("temperature 0.7 samples");
  });
});
