import { catalog } from "@costwise/pricing";
import { newRequest, type LlmRequest, type LlmResponse } from "@costwise/schemas";
import { compileDistillPolicy, type DistillPolicy, type DistillPolicyFile } from "../policy.ts";

export const policyOf = (doc: DistillPolicyFile): DistillPolicy => compileDistillPolicy(doc, "test-policy.yaml", catalog);

/** One use case "triage": capture everything, candidate gpt-4.1-nano in shadow for every request, exact scorer. */
export const triagePolicy = (over: Record<string, unknown> = {}): DistillPolicy =>
  policyOf({
    version: 1,
    useCases: {
      triage: {
        capture: { enabled: true, sampleRate: 1, filters: { minAnswerChars: 1, rejectPhrases: ["i'm not sure"] } },
        candidate: "gpt-4.1-nano",
        shadow: { sampleRate: 1, scorer: "exact" },
        readiness: { minSamples: 5, minAgreementLower: 0.5 },
        enabled: true,
        ...over,
      },
    },
  } as DistillPolicyFile);

export const request = (id: string, over: Partial<LlmRequest> = {}): LlmRequest =>
  newRequest({
    request_id: id, tenant: "acme", use_case: "triage", model: "gpt-4o", created_at: Date.UTC(2026, 10, 26, 9, 0, 0),
    messages: [{ role: "system", content: "Label the customer's message." }, { role: "user", content: `Message ${id}: please email me at jane.doe@example.com` }],
    ...over,
  });

export const response = (id: string, over: Partial<LlmResponse> = {}): LlmResponse => ({
  request_id: id, tenant: "acme", use_case: "triage", status: "OK", content: "billing", error: null, error_code: null, model: "gpt-4o", provider: "openai",
  served_by: "REALTIME", input_tokens: 40, cached_input_tokens: 0, output_tokens: 2, cost_usd: 0.0001, latency_ms: 300, cache_source_request_id: null,
  created_at: Date.UTC(2026, 10, 26, 9, 0, 0), ...over,
});

/**
 * A router policy for the integration tests: one rules-routed use case (small / frontier tiers)
 * whose routes every request shadows with the exact judge, falling back under 0.8 over 4+ of 10.
 */
export const routerPolicyYaml = (useCase: string): string => `version: 1
defaults:
  shadow: { sampleRate: 1, judge: exact, similarity: 0.8, judgeModel: null, ttlSeconds: 120 }
  quality: { floor: 0.8, window: 10, minSamples: 4, recoverMargin: 0.05 }
useCases:
  ${useCase}:
    strategy: rules
    tiers:
      - { name: small, models: { openai: gpt-4o-mini }, maxScore: 0.5 }
      - { name: frontier, models: caller }
    defaultModel: gpt-4o
    baseScore: 0.9
`;
