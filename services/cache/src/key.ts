import { createHash } from "node:crypto";
import { requestOptions, type LlmRequest, type Message } from "@costwise/schemas";
import type { UseCasePolicy } from "./policy.ts";

/** Bump when the canonical form changes: old entries then simply stop matching (and expire). */
export const KEY_VERSION = "cw-cache-v1";

/** Why a request is not looked up (and not stored). */
export type Ineligible =
  | { readonly kind: "off"; readonly reason: string }
  | { readonly kind: "bypass"; readonly reason: string };

/** The canonical identity of a cacheable request. */
export interface CanonicalRequest {
  /** Everything that must be equal for two requests to share an answer, except the query: tenant, use case, model, parameters, system prompt, conversation, template, context, key tags. */
  readonly scope: string;
  /** The scope plus the normalised query: equal keys are an exact hit. */
  readonly key: string;
  /** The text compared semantically: the last user message, or the part of it the policy's query_pattern captures. */
  readonly query: string;
}

const SYSTEM_ROLES = new Set(["system", "developer"]);
const TOOL_ROLES = new Set(["tool", "function"]);

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);

/** Unicode-compatible forms and runs of whitespace do not change what was asked. */
export function normalizeText(s: string): string {
  return s.normalize("NFKC").replace(/\s+/gu, " ").trim();
}

/** Order-sensitive fingerprint of retrieved context (the executor renders chunks in order, so order changes the prompt). */
export function contextFingerprint(req: Pick<LlmRequest, "context">): string | null {
  if (req.context.length === 0) return null;
  return hash(JSON.stringify(req.context.map((c) => [c.id, normalizeText(c.text)])));
}

/** A message beyond its text: image parts (by URL), tool calls, the call a tool result answers. */
function messageExtras(m: Message): unknown[] | null {
  const images = (m.parts ?? []).filter((p) => p.type !== "text").map((p) => [p.type, p.image_url ?? "", p.detail]);
  const calls = (m.tool_calls ?? []).map((c) => [c.name, canonicalJson(c.arguments)]);
  return images.length === 0 && calls.length === 0 && m.tool_call_id == null ? null : [images, calls, m.tool_call_id ?? null];
}

/** JSON text with object keys sorted, so formatting and key order never split a key; non-JSON as is. */
export function canonicalJson(text: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v !== null && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sort(value));
}

/**
 * Everything besides the messages that shapes the answer: tool definitions, tool choice, output
 * format and its schema, stop sequences, seed and sampling options. Part of the scope, so neither
 * exact nor semantic lookups ever cross two tool sets or two schemas.
 */
export function optionsFingerprint(req: LlmRequest): string | null {
  const o = requestOptions(req);
  const parts = [
    o.tools.map((t) => [t.name, t.description ?? null, canonicalJson(t.parameters), t.strict]),
    o.toolChoice ? [o.toolChoice.mode, o.toolChoice.name] : null,
    o.parallelToolCalls,
    o.responseFormat ? [o.responseFormat.type, o.responseFormat.name, o.responseFormat.schema === null ? null : canonicalJson(o.responseFormat.schema), o.responseFormat.strict] : null,
    o.stop, o.seed, o.topP, o.presencePenalty, o.frequencyPenalty, o.reasoningEffort,
  ];
  const empty = o.tools.length === 0 && parts.slice(1, 4).every((p) => p === null) && o.stop.length === 0 && parts.slice(5).every((p) => p === null);
  return empty ? null : hash(JSON.stringify(parts));
}

/** Whether the policy lets this request be served from (and stored in) the cache. */
export function eligibility(req: LlmRequest, policy: UseCasePolicy): Ineligible | null {
  if (policy.mode === "off") return { kind: "off", reason: `caching is off for use case ${req.use_case}` };
  if (req.tags.cache?.toLowerCase() === "off") return { kind: "bypass", reason: "tags.cache = off" };
  if (!policy.allow_sampling && req.temperature !== 0) {
    return { kind: "bypass", reason: req.temperature === null ? "temperature unset (provider default samples)" : `temperature ${req.temperature} samples` };
  }
  if (!policy.allow_tools && req.messages.some((m) => TOOL_ROLES.has(m.role) || (m.tool_calls?.length ?? 0) > 0)) return { kind: "bypass", reason: "request carries tool calls or results" };
  if (!req.messages.some((m) => m.role === "user")) return { kind: "bypass", reason: "no user message" };
  return null;
}

/**
 * The canonical form of a request under its use case's policy. Scope and key are 128-bit
 * sha256 prefixes of a JSON array with a fixed field order, so equal requests give equal keys
 * on every replica and version of Node.
 */
export function canonicalize(req: LlmRequest, policy: UseCasePolicy): CanonicalRequest {
  const last = req.messages.map((m) => m.role).lastIndexOf("user");
  const lastUser = req.messages[last]!;
  const system: string[] = [];
  const turns: unknown[][] = [];
  req.messages.forEach((m, i) => {
    if (i === last) return;
    if (SYSTEM_ROLES.has(m.role)) system.push(normalizeText(m.content));
    // last_turn keeps what follows the question (an assistant prefill still shapes the answer).
    else if (policy.conversation === "full" || i > last) {
      const extras = messageExtras(m);
      turns.push(extras ? [m.role, normalizeText(m.content), extras] : [m.role, normalizeText(m.content)]);
    }
  });

  let query = normalizeText(lastUser.content);
  let template: string | null = null;
  if (policy.query_pattern) {
    const m = new RegExp(policy.query_pattern, "u").exec(lastUser.content);
    if (m?.[1] !== undefined) {
      query = normalizeText(m[1]);
      const start = m.index + m[0].indexOf(m[1]);
      template = normalizeText(`${lastUser.content.slice(0, start)}\u0000${lastUser.content.slice(start + m[1].length)}`);
    }
  }

  const tags = policy.key_tags.map((t) => [t, req.tags[t] ?? null]).sort(([a], [b]) => String(a).localeCompare(String(b)));
  // The question's images and every option that changes the answer. Appended only when present,
  // so a plain text request keeps the key it always had.
  const extras = [messageExtras(lastUser), optionsFingerprint(req)];
  const scope = hash(JSON.stringify([
    KEY_VERSION, req.tenant, req.use_case, req.model, req.max_tokens, req.temperature, system, turns, template,
    policy.context === "key" ? contextFingerprint(req) : null, tags,
    ...(extras.every((e) => e === null) ? [] : extras),
  ]));
  return { scope, key: hash(JSON.stringify([scope, query])), query };
}
