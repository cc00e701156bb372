import { newRequest, type LlmRequest, type LlmResponse } from "@costwise/schemas";
export { bagOfWordsEmbedder } from "@costwise/embeddings/testing";

export const request = (over: Partial<LlmRequest> & { text?: string } = {}): LlmRequest => {
  const { text, ...rest } = over;
  return newRequest({
    request_id: "r1", tenant: "acme", use_case: "support-chat", model: "gpt-4o", temperature: 0, max_tokens: 200, created_at: 1_000,
    messages: [{ role: "system", content: "You are a bank assistant." }, { role: "user", content: text ?? "where is my new card" }],
    ...rest,
  });
};

export const answer = (req: LlmRequest, over: Partial<LlmResponse> = {}): LlmResponse => ({
  request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, status: "OK", content: `answer to ${req.request_id}`, error: null, error_code: null,
  model: "gpt-4o", provider: "openai", served_by: "REALTIME", input_tokens: 30, cached_input_tokens: 0, output_tokens: 12, cost_usd: 0.0002,
  latency_ms: 800, cache_source_request_id: null, created_at: req.created_at, ...over,
});
