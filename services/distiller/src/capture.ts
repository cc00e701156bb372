import { createHash } from "node:crypto";
import { percentBucket } from "@costwise/route-state";
import type { DistillSample, LlmRequest, LlmResponse, Message } from "@costwise/schemas";
import type { DistillPolicy, UseCaseDistillPolicy } from "./policy.ts";
import { sumCounts, type Redactor } from "./redact.ts";

/**
 * What the distiller remembers of a request (from llm.requests.ready / .batch) until its answer
 * arrives: the exact messages the model was sent, the route, and which of capture and shadow
 * sampled it. Held in Redis for a short TTL only; never written anywhere unredacted.
 */
export interface PendingPrompt {
  readonly request_id: string;
  readonly tenant: string;
  readonly use_case: string;
  readonly created_at: number;
  readonly messages: Message[];
  readonly model: string | null;
  readonly route: { readonly tier: string; readonly model: string } | null;
  readonly maxTokens: number | null;
  readonly temperature: number | null;
  readonly quality: number | null;
  readonly capture: boolean;
  readonly shadow: boolean;
}

/** Independent, replay-stable sampling decisions by request id (the router's SHA-256 bucket). */
export const captureSampled = (requestId: string, rate: number) => percentBucket(requestId, "distill-capture") < rate * 100;
export const shadowSampled = (requestId: string, rate: number) => percentBucket(requestId, "distill-shadow") < rate * 100;

/** Which of capture and shadow a request is sampled for under its use case's policy (both false: ignore it). */
export function samplingOf(requestId: string, uc: UseCaseDistillPolicy | undefined): { capture: boolean; shadow: boolean } {
  if (!uc) return { capture: false, shadow: false };
  return {
    capture: uc.capture.enabled && captureSampled(requestId, uc.capture.sampleRate),
    shadow: uc.candidate !== null && shadowSampled(requestId, uc.shadow.sampleRate),
  };
}

function qualityOf(req: Pick<LlmRequest, "tags">, tag: string | undefined): number | null {
  if (!tag) return null;
  const raw = req.tags[tag];
  if (raw === undefined || raw.trim() === "") return null;
  const v = Number(raw);
  return Number.isFinite(v) ? v : null;
}

/**
 * The pending entry for a request, or null when neither capture nor shadow wants it.
 * `render` is renderMessages from @costwise/schemas: the messages the model really got.
 */
export function planFor(req: LlmRequest, policy: DistillPolicy, render: (req: LlmRequest) => Message[]): PendingPrompt | null {
  const uc = policy.useCases.get(req.use_case);
  const s = samplingOf(req.request_id, uc);
  if (!uc || (!s.capture && !s.shadow)) return null;
  const route = req.pipeline?.route ?? null;
  return {
    request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, created_at: req.created_at,
    messages: render(req), model: req.model, route: route ? { tier: route.tier, model: route.model } : null,
    maxTokens: req.max_tokens, temperature: req.temperature, quality: qualityOf(req, uc.capture.filters.quality?.tag),
    capture: s.capture, shadow: s.shadow,
  };
}

/** Is a response worth holding until its prompt arrives? (OK, a model answer, sampled.) */
export function answerWanted(res: LlmResponse, policy: DistillPolicy): boolean {
  if (res.status !== "OK" || res.content === null || (res.served_by !== "REALTIME" && res.served_by !== "BATCH")) return false;
  if ((res.tool_calls?.length ?? 0) > 0) return false;
  const s = samplingOf(res.request_id, policy.useCases.get(res.use_case));
  return s.capture || s.shadow;
}

const lower = (s: string | null | undefined) => (s ?? "").trim().toLowerCase();

/**
 * A frontier answer: from a model the use case lists as frontier, or from the router's last tier
 * ("frontier") by the routed model itself (not a provider fallback), or — when the request was not
 * routed — from the model the caller asked for.
 */
export function isFrontierAnswer(p: PendingPrompt, res: LlmResponse, uc: UseCaseDistillPolicy): boolean {
  const model = lower(res.model);
  if (model === "") return false;
  if (uc.capture.frontierModels.some((m) => lower(m) === model)) return true;
  if (p.route) return p.route.tier === "frontier" && lower(p.route.model) === model;
  return p.model !== null && lower(p.model) === model;
}

/** NFKC, whitespace collapsed, lower case: the identity of a prompt for deduplication. */
export function promptHash(messages: readonly Message[]): string {
  const norm = messages.map((m) => `${m.role.toLowerCase()}\u0000${m.content.normalize("NFKC").replace(/\s+/g, " ").trim().toLowerCase()}`).join("\u0001");
  return createHash("sha256").update(norm).digest("hex");
}

export type CaptureResult = { readonly sample: DistillSample } | { readonly skipped: string };

/** Apply the use case's filters and redaction to a joined prompt and answer. Pure. */
export function buildSample(p: PendingPrompt, res: LlmResponse, uc: UseCaseDistillPolicy, redact: Redactor, now: number): CaptureResult {
  const f = uc.capture.filters;
  if (res.status !== "OK" || res.content === null) return { skipped: "not OK" };
  if (!isFrontierAnswer(p, res, uc)) return { skipped: "not a frontier answer" };
  // A sample is text turns and a text completion: tool calls and tool results do not fit it.
  if ((res.tool_calls?.length ?? 0) > 0) return { skipped: "answer calls tools" };
  if (p.messages.some((m) => m.role === "tool" || (m.tool_calls?.length ?? 0) > 0)) return { skipped: "prompt carries tool calls" };
  const answer = res.content.trim();
  if (answer.length < f.minAnswerChars) return { skipped: "answer too short" };
  if (f.maxAnswerChars !== null && answer.length > f.maxAnswerChars) return { skipped: "answer too long" };
  const low = answer.toLowerCase();
  if (f.rejectPhrases.some((phrase) => low.includes(phrase))) return { skipped: "answer has a reject phrase" };
  if (f.quality) {
    if (p.quality === null && f.quality.missing === "drop") return { skipped: "no quality signal" };
    if (p.quality !== null && p.quality < f.quality.min) return { skipped: "quality below minimum" };
  }
  const parts = p.messages.map((m) => ({ role: m.role, r: redact(m.content) }));
  const completion = redact(res.content);
  const messages = parts.map((x) => ({ role: x.role, content: x.r.text }));
  return {
    sample: {
      request_id: p.request_id, tenant: p.tenant, use_case: p.use_case, messages, completion: completion.text,
      model: res.model!, provider: res.provider, route_tier: p.route?.tier ?? null, served_by: res.served_by,
      input_tokens: res.input_tokens, output_tokens: res.output_tokens, prompt_hash: promptHash(messages), quality: p.quality,
      redactions: sumCounts([...parts.map((x) => x.r.counts), completion.counts]), sample_rate: uc.capture.sampleRate,
      created_at: p.created_at, captured_at: now,
    },
  };
}
