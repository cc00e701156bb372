import { randomUUID } from "node:crypto";
import { catalog, costOf, requireModel } from "@costwise/pricing";
import { countChatTokens, countTextTokens, createProviders, providersConfigSchema, type Providers } from "@costwise/providers";
import { newRequest, topics, type CostRecord, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { silentLogger, type Outcome, type ProcessContext } from "@costwise/stream-runtime";
import { afterAll, describe, expect, it } from "vitest";
import { createProcess } from "./process.ts";

// The executor's process with the real provider layer, over HTTP to the stack's provider emulator
// (EMULATOR_URL, set by the int project's global setup): the cache_control markers the executor
// places are the ones the emulator bills, and the cost records are the ones the sink would store.
const ctx = { logger: silentLogger, signal: new AbortController().signal } as unknown as ProcessContext;
const MODEL = "claude-sonnet-4-5";
const N = 20;
const opened: Providers[] = [];
afterAll(async () => {
  await Promise.all(opened.map((p) => p.close()));
});

/** A support assistant's ~4k-token fixed instructions; the nonce keeps runs from sharing the emulator's cache. */
function longSystemPrompt(nonce: string): string {
  const rules = Array.from({ length: 120 }, (_, i) => `${i + 1}. When a customer asks about topic ${i}, check the account first, quote the policy section ${i % 17}, and never promise a refund the policy does not allow.`);
  return `Session ${nonce}. You are the support assistant of a payments company.\n${rules.join("\n")}`;
}

function workload(mode: "auto" | "off" | "always", system = longSystemPrompt(randomUUID())) {
  const config = providersConfigSchema.parse({ EMULATOR_URL: process.env["EMULATOR_URL"], PROMPT_CACHE: mode, PROVIDER_TIMEOUT_MS: 20_000 });
  const providers = createProviders(config, { catalog, logger: silentLogger });
  opened.push(providers);
  const run = createProcess({ providers, catalog, countTokens: countChatTokens, defaultModel: MODEL, now: Date.now });
  return {
    system,
    async send(): Promise<CostRecord[]> {
      const records: CostRecord[] = [];
      // One at a time, as a chat session's turns arrive: each sees the cache its predecessors wrote.
      for (let i = 0; i < N; i++) {
        const req: LlmRequest = newRequest({
          request_id: `pc-${mode}-${i}-${randomUUID()}`, tenant: "acme", use_case: "support", model: MODEL, max_tokens: 64, created_at: Date.now(),
          messages: [{ role: "system", content: system }, { role: "user", content: `Question ${i}: where is my card number ${1000 + i}?` }],
        });
        const out: Outcome = await run(req, ctx);
        const [res] = out.outputs.filter((o) => o.topic.name === topics.responses.name).map((o) => o.value as LlmResponse);
        expect(res?.status, res?.error ?? "").toBe("OK");
        records.push(...out.outputs.filter((o) => o.topic.name === topics.costRecords.name).map((o) => o.value as CostRecord));
      }
      expect(records).toHaveLength(N);
      for (const r of records) {
        expect(r.saving_cache_nanousd + r.saving_routing_nanousd + r.saving_compression_nanousd + r.saving_batch_nanousd + r.saving_prompt_cache_nanousd, r.request_id)
          .toBe(r.baseline_cost_nanousd - r.cost_nanousd - r.overhead_cost_nanousd);
      }
      return records;
    },
  };
}

const total = (rs: readonly CostRecord[], f: (r: CostRecord) => number) => rs.reduce((a, r) => a + f(r), 0);
const usd = (nano: number) => `$${(nano / 1e9).toFixed(6)}`;

describe("provider prompt caching through the executor (real emulator)", () => {
  it("auto: the first request only records the prefix, the second writes it, every later one reads it", async () => {
    const w = workload("auto");
    expect(countTextTokens(w.system, MODEL)).toBeGreaterThan(2_500);
    const rs = await w.send();
    expect(rs[0]).toMatchObject({ cached_input_tokens: 0, cache_write_input_tokens: 0, saving_prompt_cache_nanousd: 0 });
    expect(rs[1]!.cache_write_input_tokens).toBeGreaterThan(1_024);
    // The write premium with no read yet is a loss, and it is counted.
    expect(rs[1]!.saving_prompt_cache_nanousd).toBeLessThan(0);
    for (const r of rs.slice(2)) {
      expect(r.cached_input_tokens, r.request_id).toBe(rs[1]!.cache_write_input_tokens);
      expect(r.saving_prompt_cache_nanousd).toBeGreaterThan(0);
    }
    const saving = total(rs, (r) => r.saving_prompt_cache_nanousd);
    expect(saving).toBeGreaterThan(0);
    const baseline = total(rs, (r) => r.baseline_cost_nanousd);
    console.log(`prompt cache auto, ${N} requests x ${rs[0]!.input_tokens}-token prompt on ${MODEL}: uncached ${usd(baseline)}, billed ${usd(total(rs, (r) => r.cost_nanousd))}, saving_prompt_cache ${usd(saving)} (${((saving / baseline) * 100).toFixed(1)}%)`);
  });

  it("always: reads from the second request on; off: never; the saving is naive cost − cost", async () => {
    // The same prompts both ways (markers off leave nothing in the provider's cache).
    const system = longSystemPrompt(randomUUID());
    const naive = await workload("off", system).send();
    const cached = await workload("always", system).send();
    expect(naive.every((r) => r.cached_input_tokens === 0 && r.cache_write_input_tokens === 0 && r.saving_prompt_cache_nanousd === 0)).toBe(true);
    expect(cached[0]!.cache_write_input_tokens).toBeGreaterThan(1_024);
    for (const r of cached.slice(1)) expect(r.cached_input_tokens, r.request_id).toBeGreaterThan(1_024);
    const naiveCost = total(naive, (r) => r.cost_nanousd);
    const cachedCost = total(cached, (r) => r.cost_nanousd);
    const saving = total(cached, (r) => r.saving_prompt_cache_nanousd);
    // Same prompts both ways: the input side agrees token for token (the emulator's answers, and so
    // output tokens, vary run to run), and the attributed saving is exactly the difference in input spend.
    expect(total(cached, (r) => r.input_tokens)).toBe(total(naive, (r) => r.input_tokens));
    const sonnet = requireModel(catalog, MODEL);
    const inputCost = (r: CostRecord) =>
      costOf(sonnet, { inputTokens: r.input_tokens, cachedInputTokens: r.cached_input_tokens, cacheWriteInputTokens: r.cache_write_input_tokens, outputTokens: 0 }).totalNanoUsd;
    expect(saving).toBe(total(naive, inputCost) - total(cached, inputCost));
    expect(cachedCost).toBeLessThan(naiveCost * 0.5);
    const inputTokens = cached[0]!.input_tokens;
    console.log(`prompt cache, ${N} requests x ${inputTokens}-token prompt on ${MODEL}: naive ${usd(naiveCost)}, with prompt caching ${usd(cachedCost)}, saving_prompt_cache ${usd(saving)} (${((saving / naiveCost) * 100).toFixed(1)}%)`);
  });
});
