import { describe, expect, it } from "vitest";
import { catalog } from "../src/catalog.ts";
import { comparePrices, entrySnippet, missingModels, perMTok, type PriceList } from "./price-list.ts";

// Prices as LiteLLM writes them: floats in USD per token.
const list: PriceList = {
  "gpt-4o-mini": { litellm_provider: "openai", mode: "chat", input_cost_per_token: 1.5e-7, output_cost_per_token: 6e-7, cache_read_input_token_cost: 7.5e-8, input_cost_per_token_batches: 7.5e-8 },
  "claude-haiku-4-5": {
    litellm_provider: "anthropic", mode: "chat", input_cost_per_token: 1e-6, output_cost_per_token: 5e-6, cache_read_input_token_cost: 1e-7,
    cache_creation_input_token_cost: 1.25e-6, cache_creation_input_token_cost_above_1hr: 2e-6,
  },
  // A changed price and a changed batch discount.
  "gpt-4o": { litellm_provider: "openai", mode: "chat", input_cost_per_token: 3e-6, output_cost_per_token: 1e-5, input_cost_per_token_batches: 2.25e-6 },
  "claude-sonnet-5": { litellm_provider: "anthropic", mode: "chat", input_cost_per_token: 2e-6, output_cost_per_token: 1e-5, cache_read_input_token_cost: 2e-7, cache_creation_input_token_cost: 2.5e-6, max_input_tokens: 1_000_000, max_output_tokens: 128_000 },
  "claude-sonnet-5-20260101": { litellm_provider: "anthropic", mode: "chat" },
  "azure/gpt-6": { litellm_provider: "azure", mode: "chat" },
  "text-embedding-9": { litellm_provider: "openai", mode: "embedding" },
};

describe("price list comparison", () => {
  it("turns float USD/token into the catalog's exact decimal USD/MTok", () => {
    expect(perMTok(1.5e-7)).toBe("0.15");
    expect(perMTok(2.5e-6)).toBe("2.50");
    expect(perMTok(1e-5)).toBe("10.00");
    expect(perMTok(1.25e-9)).toBe("0.00125");
  });

  it("reports only the fields that differ, batch discount included", () => {
    const { differences, notListed } = comparePrices(catalog, list);
    expect(differences).toEqual([
      { model: "gpt-4o", field: "inputPerMTok", catalog: "2.50", priceList: "3.00" },
      { model: "gpt-4o", field: "batchDiscount", catalog: "0.5", priceList: "0.2500" },
    ]);
    expect(notListed).toContain("gpt-5");
    expect(notListed).not.toContain("claude-haiku-4-5");
  });

  it("lists chat models of the catalog's providers that the catalog lacks, without snapshots or other hosts", () => {
    expect(missingModels(catalog, list)).toEqual(["claude-sonnet-5"]);
  });

  it("writes a catalog entry to review", () => {
    const s = entrySnippet("claude-sonnet-5", list["claude-sonnet-5"]!);
    expect(s).toContain('inputPerMTok: "2.00"');
    expect(s).toContain('cacheWritePerMTok: "2.50"');
    expect(s).toContain("contextWindow: 1000000");
  });
});
