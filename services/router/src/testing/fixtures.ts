import { fileURLToPath } from "node:url";
import { catalog } from "@costwise/pricing";
import { newRequest, type LlmRequest } from "@costwise/schemas";
import { compilePolicy, type RouterPolicy } from "../policy.ts";

/** The directory the shipped policy lives in (its classifier path is relative to it). */
export const CONFIG_DIR = fileURLToPath(new URL("../../config/", import.meta.url));
export const SHIPPED_MODEL = fileURLToPath(new URL("../../models/router-classifier-v1.json", import.meta.url));

/** Model lifecycles are checked against a fixed date, so a test never fails because a model retired since. */
export const POLICY_DATE = Date.parse("2026-12-01T00:00:00Z");
export const policyOf = (doc: unknown): RouterPolicy => compilePolicy(doc, "test-policy.yaml", CONFIG_DIR, { catalog, now: () => POLICY_DATE });

export const twoTiers = (maxScore = 0.5) => [
  { name: "small", models: { openai: "gpt-4o-mini", anthropic: "claude-haiku-4-5" }, maxScore },
  { name: "frontier", models: "caller" as const },
];

export const request = (over: Partial<LlmRequest> = {}): LlmRequest =>
  newRequest({ request_id: "req-1", tenant: "acme", use_case: "chat", messages: [{ role: "user", content: "Hello there, what are your opening hours?" }], model: "gpt-4o", created_at: 1_000, ...over });
