import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { ConfigError } from "@costwise/stream-runtime";
import { DEFAULT_POLICY_FILE } from "./config.ts";
import { PolicyError } from "./errors.ts";
import { loadPolicy, parsePolicy, type PolicyFile } from "./policy.ts";
import { CONFIG_DIR, POLICY_DATE, policyOf, twoTiers } from "./testing/fixtures.ts";

const base = (uc: Record<string, unknown>): PolicyFile => ({ version: 1, useCases: { chat: { strategy: "rules", tiers: twoTiers(), ...uc } } }) as PolicyFile;

function policyError(doc: unknown): string {
  try {
    policyOf(doc as PolicyFile);
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyError);
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a PolicyError");
}

describe("routing policy", () => {
  it("the shipped policy loads, with every demo use case and its strategy", () => {
    const p = loadPolicy(DEFAULT_POLICY_FILE, { catalog, now: () => POLICY_DATE });
    const strategies = Object.fromEntries([...p.useCases].map(([k, v]) => [k, v.strategy]));
    expect(strategies).toMatchObject({ "support-chat": "classifier", "intent-triage": "rules", "kb-answers": "cascade", "weekly-digest": "llm", "general-assistant": "semantic", "math-answers": "semantic", "general-rules": "rules", "math-cascade": "cascade" });
    const support = p.useCases.get("support-chat")!;
    expect(support.tiers.map((t) => t.name)).toEqual(["small", "frontier"]);
    expect(support.tiers[0]!.models).toMatchObject({ openai: { id: "gpt-6-luna" }, anthropic: { id: "claude-haiku-4-5" } });
    expect(support.tiers[1]!.models).toBeNull();
    expect(support.classifier?.model.version).toBe("router-classifier-v1");
    expect(support.shadow).toMatchObject({ sampleRate: 0.1, judge: "embedding", ttlSeconds: 3600 });
    expect(support.quality).toEqual({ floor: 0.7, window: 200, minSamples: 50, recoverMargin: 0.05 });
    expect(p.useCases.get("general-rules")!.rollout).toBe(25);
    // The demo's use cases route by a calibrated semantic model: the cheap tier's maxScore is derived, not written.
    for (const uc of ["math-answers", "general-assistant"]) {
      const s = p.useCases.get(uc)!.semantic!;
      expect(s.target).toEqual({ quality: 0.95 });
      expect(s.expected.qualityLower).toBeGreaterThanOrEqual(0.95);
      expect(s.expected.strongShare).toBeLessThan(1);
      expect(p.useCases.get(uc)!.tiers[0]!.maxScore).toBe(s.threshold);
    }
  });

  it("the shipped policy names only models that are served today and for months to come", () => {
    // Six months on, every model the policy names must still be served and none deprecated:
    // otherwise the router would stop loading its own policy on a retirement date.
    for (const day of ["2026-12-02", "2027-06-02"]) {
      const p = loadPolicy(DEFAULT_POLICY_FILE, { catalog, now: () => Date.parse(`${day}T00:00:00Z`) });
      expect(p.warnings.filter((w) => /deprecated|retire/.test(w)), day).toEqual([]);
    }
  });

  it("merges use-case sections over the defaults", () => {
    const p = policyOf({ version: 1, defaults: { quality: { floor: 0.6, window: 10, minSamples: 5, recoverMargin: 0.1 } }, useCases: { chat: { strategy: "rules", tiers: twoTiers(), quality: { floor: 0.9 } } } } as PolicyFile);
    expect(p.useCases.get("chat")!.quality).toEqual({ floor: 0.9, window: 10, minSamples: 5, recoverMargin: 0.1 });
  });

  it("names an unknown model with its path and the closest catalog model", () => {
    const msg = policyError(base({ tiers: [{ name: "small", models: { openai: "gpt-4o-mimi" }, maxScore: 0.5 }, { name: "frontier", models: "caller" }] }));
    expect(msg).toContain("invalid router policy test-policy.yaml");
    expect(msg).toContain('useCases.chat.tiers[0].models.openai: model "gpt-4o-mimi" is not in price catalog');
    expect(msg).toContain("did you mean gpt-4o-mini?");
  });

  it("rejects a model under the wrong provider and an embedding model", () => {
    const msg = policyError(base({ tiers: [{ name: "small", models: { anthropic: "gpt-4o-mini", openai: "text-embedding-3-small" }, maxScore: 0.5 }, { name: "frontier", models: "caller" }] }));
    expect(msg).toContain('models.anthropic: model "gpt-4o-mini" is a openai model');
    expect(msg).toContain('models.openai: model "text-embedding-3-small" is an embedding model, not a chat model');
  });

  it("checks tier structure: caller only last, maxScore on all but the last, increasing", () => {
    const msg = policyError(base({
      tiers: [
        { name: "a", models: "caller", maxScore: 0.5 },
        { name: "b", models: { openai: "gpt-4o-mini" }, maxScore: 0.4 },
        { name: "c", models: { openai: "gpt-4o-mini" } },
        { name: "d", models: "caller", maxScore: 0.9 },
      ],
    }));
    expect(msg).toContain('tiers[0].models: "caller" (the request\'s own model) is only allowed on the last tier');
    expect(msg).toContain("tiers[1].maxScore: must be greater than the previous tier's (0.5)");
    expect(msg).toContain("tiers[2].maxScore: required on every tier but the last");
    expect(msg).toContain("tiers[3].maxScore: the last tier takes every remaining request and has no maxScore");
  });

  it("needs at least two tiers", () => {
    expect(policyError(base({ tiers: [{ name: "frontier", models: "caller" }] }))).toContain("useCases.chat.tiers: a use case needs at least two tiers");
  });

  it("rejects rules that name no tier or have a bad regex", () => {
    const msg = policyError(base({ rules: [{ name: "r1", keywords: ["x"], tier: "huge" }, { name: "r2", pattern: "(unclosed", add: 0.1 }] }));
    expect(msg).toContain('rules[0].tier: no tier named "huge" (tiers: small, frontier)');
    expect(msg).toContain("rules[1].pattern: invalid regular expression");
  });

  it("rejects a rule without a condition or with both a score change and a tier", () => {
    const msg = policyError(base({ rules: [{ name: "r0", add: 0.2 }, { name: "r1", keywords: ["x"], add: 0.1, tier: "small" }] }));
    expect(msg).toContain("useCases.chat.rules[0]: a rule needs at least one condition");
    expect(msg).toContain("useCases.chat.rules[1]: a rule needs exactly one of 'add' (a score change) or 'tier' (a forced tier)");
  });

  it("rejects unknown keys and wrong types, listing every problem", () => {
    const msg = policyError({ version: 1, useCases: { chat: { strategy: "magic", tiers: twoTiers(), rollout: 150, colour: "blue" } } });
    expect(msg).toContain("useCases.chat.strategy");
    expect(msg).toContain("useCases.chat.rollout: Number must be less than or equal to 100");
    expect(msg).toContain("Unrecognized key(s) in object: 'colour'");
  });

  it("checks cross-field settings: llm judge model, window size, classifier file, label list, JSON schema", () => {
    const msg = policyError({
      version: 1,
      useCases: {
        a: { strategy: "classifier", tiers: twoTiers(), classifier: { model: "missing-model.json" }, shadow: { judge: "llm" }, quality: { minSamples: 500 } },
        b: { strategy: "cascade", tiers: twoTiers(), cascade: { format: "label" } },
        c: { strategy: "cascade", tiers: twoTiers(), cascade: { format: "json", jsonSchema: { type: "objekt" } } },
      },
    });
    expect(msg).toContain("useCases.a.classifier.model: cannot read classifier model");
    expect(msg).toContain('useCases.a.shadow.judgeModel: the "llm" judge needs a judgeModel');
    expect(msg).toContain("useCases.a.quality.minSamples: is 500 but the window keeps only 200 comparisons");
    expect(msg).toContain('useCases.b.cascade.labels: format "label" needs the list of valid labels');
    expect(msg).toContain("useCases.c.cascade.jsonSchema: invalid JSON schema");
  });

  it("reports YAML syntax errors and unreadable files clearly", () => {
    expect(() => parsePolicy("version: 1\nuseCases: [oops", "bad.yaml", CONFIG_DIR, { catalog })).toThrow(/router policy bad.yaml is not valid YAML\/JSON/);
    expect(() => loadPolicy("/nonexistent/policy.yaml", { catalog })).toThrow(/cannot read router policy \/nonexistent\/policy.yaml.*ROUTER_POLICY_FILE/);
  });

  it("accepts JSON as well as YAML", () => {
    const p = parsePolicy(JSON.stringify(base({})), "p.json", CONFIG_DIR, { catalog });
    expect(p.useCases.get("chat")!.strategy).toBe("rules");
  });
});

describe("model lifecycle in the policy", () => {
  it("rejects a retired model with its date and source, and warns on a deprecated one", () => {
    const retired = policyError(base({ tiers: [{ name: "nano", models: { openai: "gpt-4.1-nano" }, maxScore: 0.5 }, { name: "frontier", models: "caller" }] }));
    expect(retired).toContain('useCases.chat.tiers[0].models.openai: model "gpt-4.1-nano" was retired on 2026-10-23');
    const p = policyOf(base({ defaultModel: "gpt-4o" }));
    expect(p.warnings).toContain('useCases.chat.defaultModel: model "gpt-4o" is deprecated, retires on 2027-01-14; successor: gpt-6-luna');
  });
});
