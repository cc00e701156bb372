import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { ConfigError } from "@costwise/stream-runtime";
import { DEFAULT_POLICY_FILE } from "./config.ts";
import { budgetOf, loadPolicyFile, parsePolicy, policyFor } from "./policy.ts";
import { checkPolicy } from "./strategies/index.ts";

const write = (text: string) => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "cw-policy-")), "policy.yaml");
  writeFileSync(file, text);
  return file;
};

describe("compression policy", () => {
  it("ships a valid policy: kb-answers tightens then extracts to a budget, other use cases pass through", () => {
    const policy = loadPolicyFile(DEFAULT_POLICY_FILE);
    const kb = policyFor(policy, "kb-answers");
    expect(kb.strategies.map((s) => s.name)).toEqual(["tighten", "extractive"]);
    expect(kb.budget.target_ratio).toBeLessThanOrEqual(0.5);
    expect(policyFor(policy, "support-chat").strategies).toEqual([]);
    expect(() => checkPolicy(policy, { catalog, now: Date.now })).not.toThrow();
  });

  it("fills defaults for strategy parameters", () => {
    const p = parsePolicy({ version: 1, use_cases: { u: { budget: { target_ratio: 0.5 }, strategies: [{ name: "extractive" }, { name: "tighten" }] } } });
    expect(p.use_cases.u!.floor_tokens).toBe(100);
    expect(p.use_cases.u!.strategies).toEqual([{ name: "extractive", chunk_weight: 0.5, neighbour_weight: 0.25 }, { name: "tighten", rank_by: "retriever", dedupe_threshold: 0.85 }]);
    expect(p.default.strategies).toEqual([]);
  });

  it.each([
    ["an unknown strategy", "version: 1\nuse_cases:\n  u:\n    strategies: [{ name: magic }]\n", /use_cases\.u\.strategies\.0\.name/],
    ["extractive without a budget", "version: 1\nuse_cases:\n  u:\n    strategies: [{ name: extractive }]\n", /extractive needs a budget/],
    ["a strategy twice", "version: 1\nuse_cases:\n  u:\n    strategies: [{ name: tighten }, { name: tighten }]\n", /"tighten" appears twice/],
    ["a misspelt parameter", "version: 1\nuse_cases:\n  u:\n    strategies: [{ name: tighten, topk: 3 }]\n", /Unrecognized key.*topk/],
    ["a ratio above 1", "version: 1\nuse_cases:\n  u:\n    budget: { target_ratio: 1.5 }\n", /target_ratio/],
    ["no version", "use_cases: {}\n", /version/],
    ["broken YAML", "version: 1\nuse_cases: [\n", /not valid YAML/],
  ])("rejects %s, naming the place", (_n, text, msg) => {
    expect(() => loadPolicyFile(write(text))).toThrow(ConfigError);
    expect(() => loadPolicyFile(write(text))).toThrow(msg);
  });

  it("rejects a summariser model that is not a priced chat model, and strategies whose dependency is missing", () => {
    const summarise = parsePolicy({ version: 1, use_cases: { u: { strategies: [{ name: "summarise", model: "text-embedding-3-small" }] } } });
    expect(() => checkPolicy(summarise, { catalog, now: Date.now, chat: { chat: async () => { throw new Error("unused"); } } })).toThrow(/not a chat model/);
    const ok = parsePolicy({ version: 1, use_cases: { u: { strategies: [{ name: "summarise" }] } } });
    expect(() => checkPolicy(ok, { catalog, now: Date.now })).toThrow(/needs a provider client/);
    const ext = parsePolicy({ version: 1, default: { strategies: [{ name: "external" }] } });
    expect(() => checkPolicy(ext, { catalog, now: Date.now })).toThrow(/COMPRESSION_EXTERNAL_URL/);
  });

  it("reports a missing file clearly", () => {
    expect(() => loadPolicyFile("/nonexistent/policy.yaml")).toThrow(/cannot read compression policy \/nonexistent\/policy.yaml/);
  });

  it("takes the tightest budget, caps it by the room in the model's window, and never goes below the floor", () => {
    const p = parsePolicy({ version: 1, default: { floor_tokens: 50, budget: { target_ratio: 0.4, max_context_tokens: 300 } } }).default;
    expect(budgetOf(p, 1_000)).toEqual({ targetTokens: 300, floorTokens: 50 });
    expect(budgetOf(p, 500)).toEqual({ targetTokens: 200, floorTokens: 50 });
    expect(budgetOf(p, 100)).toEqual({ targetTokens: 50, floorTokens: 50 });
    expect(budgetOf(p, 1_000, 120)).toEqual({ targetTokens: 120, floorTokens: 50 });
    const none = parsePolicy({ version: 1 }).default;
    expect(budgetOf(none, 1_000)).toEqual({ targetTokens: 1_000, floorTokens: 100 });
  });
});
