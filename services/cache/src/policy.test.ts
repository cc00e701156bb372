import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY_FILE, FALLBACK_POLICY, loadPolicies, parsePolicies, PolicyError, policyFor, staticThresholdUseCases } from "./policy.ts";

const errorOf = (doc: unknown) => {
  try {
    parsePolicies(doc, "test.yaml");
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a validation error");
};

describe("cache policy file", () => {
  it("ships policies for the demo use cases", () => {
    const p = loadPolicies(DEFAULT_POLICY_FILE);
    expect(policyFor(p, "support-chat")).toMatchObject({ mode: "semantic", conversation: "full" });
    expect(policyFor(p, "intent-triage")).toMatchObject({ mode: "semantic", query_pattern: expect.any(String) });
    expect(policyFor(p, "kb-answers")).toMatchObject({ mode: "exact", context: "key" });
    expect(policyFor(p, "weekly-digest")).toMatchObject({ mode: "exact" });
    expect(policyFor(p, "support-chat").guard).toHaveLength(9);
  });

  it("gives use cases without a policy exact caching of temperature-0 requests and nothing semantic", () => {
    const p = parsePolicies({ version: 1, use_cases: { a: { mode: "off" } } });
    expect(policyFor(p, "unknown")).toEqual(FALLBACK_POLICY);
    expect(FALLBACK_POLICY).toMatchObject({ mode: "exact", allow_sampling: false, allow_tools: false });
  });

  it("accepts an error bound at the top of its range and fills the decision defaults", () => {
    const p = parsePolicies({ version: 1, use_cases: { faq: { mode: "semantic", max_wrong_rate: 0.2 } } });
    expect(policyFor(p, "faq")).toMatchObject({ max_wrong_rate: 0.2, confidence: 0.9, explore_rate: 0.1 });
    expect(staticThresholdUseCases(p)).toEqual([]);
    expect(staticThresholdUseCases(parsePolicies({ version: 1, use_cases: { pinned: { mode: "semantic", threshold: 0.9 } } }))).toEqual(["pinned"]);
  });

  it("fills defaults so a policy can be one line", () => {
    const p = parsePolicies({ version: 1, use_cases: { faq: { mode: "semantic", threshold: 0.92 } } });
    expect(policyFor(p, "faq")).toMatchObject({ ttl_seconds: 3600, conversation: "full", context: "key", key_tags: [] });
  });

  it.each<[string, unknown, RegExp]>([
    ["semantic mode without an error bound", { version: 1, use_cases: { faq: { mode: "semantic" } } }, /use_cases\.faq\.max_wrong_rate: semantic mode needs max_wrong_rate/],
    ["an error bound of 0", { version: 1, use_cases: { faq: { mode: "semantic", max_wrong_rate: 0 } } }, /use_cases\.faq\.max_wrong_rate: max_wrong_rate must be above 0/],
    ["an error bound above 0.2", { version: 1, use_cases: { faq: { mode: "semantic", max_wrong_rate: 0.25 } } }, /use_cases\.faq\.max_wrong_rate: max_wrong_rate above 0\.2/],
    ["an error bound and a fixed threshold", { version: 1, use_cases: { faq: { mode: "semantic", max_wrong_rate: 0.01, threshold: 0.9 } } }, /use_cases\.faq\.threshold: give max_wrong_rate or a fixed threshold, not both/],
    ["a threshold above 1", { version: 1, use_cases: { faq: { mode: "semantic", threshold: 1.5 } } }, /use_cases\.faq\.threshold/],
    ["an unknown mode", { version: 1, use_cases: { faq: { mode: "fuzzy" } } }, /use_cases\.faq\.mode/],
    ["a misspelt field", { version: 1, use_cases: { faq: { mode: "exact", ttl: 60 } } }, /Unrecognized key\(s\) in object: 'ttl'/],
    ["a bad regular expression", { version: 1, use_cases: { t: { mode: "exact", query_pattern: "([a-" } } }, /query_pattern: not a valid regular expression/],
    ["a pattern without a capture group", { version: 1, use_cases: { t: { mode: "exact", query_pattern: "Message: .*" } } }, /query_pattern: needs a capture group/],
    ["an unknown guard kind", { version: 1, use_cases: { t: { mode: "exact", guard: ["numbers"] } } }, /use_cases\.t\.guard\.0/],
    ["a zero TTL", { version: 1, use_cases: { t: { mode: "exact", ttl_seconds: 0 } } }, /ttl_seconds/],
    ["a missing version", { use_cases: {} }, /version/],
  ])("rejects %s, naming the file and the path", (_name, doc, message) => {
    const err = errorOf(doc);
    expect(err).toBeInstanceOf(PolicyError);
    expect(err.message).toMatch(/invalid cache policy in test\.yaml/);
    expect(err.message).toMatch(message);
  });

  it("lists every problem at once", () => {
    const err = errorOf({ version: 1, use_cases: { a: { mode: "semantic" }, b: { mode: "nope" } } });
    expect(err.message).toMatch(/use_cases\.a\.max_wrong_rate/);
    expect(err.message).toMatch(/use_cases\.b\.mode/);
  });

  it("reads JSON as well as YAML and reports a missing or malformed file", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cw-policy-"));
    const json = path.join(dir, "p.json");
    writeFileSync(json, JSON.stringify({ version: 1, use_cases: { faq: { mode: "exact", ttl_seconds: 60 } } }));
    expect(policyFor(loadPolicies(json), "faq").ttl_seconds).toBe(60);
    const broken = path.join(dir, "broken.yaml");
    writeFileSync(broken, "version: 1\nuse_cases: [\n");
    expect(() => loadPolicies(broken)).toThrow(/is not valid YAML/);
    expect(() => loadPolicies(path.join(dir, "missing.yaml"))).toThrow(/cannot read cache policy file/);
  });
});
