import { createHash } from "node:crypto";
import type { LlmRequest } from "@costwise/schemas";
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

/** Whether the policy lets this request be served from (and stored in) the cache. */
export function eligibility(req: LlmRequest, policy: UseCasePolicy): Ineligible | null {
  if (policy.mode === "off") return { kind: "off", reason: `caching is off for use case ${req.use_case}` };
  if (req.tags.cache?.toLowerCase() === "off") return { kind: "bypass", reason: "tags.cache = off" };
  if (!policy.allow_sampling && req.temperature !== 0) {
    return { kind: "bypass", reason: req.temperature === null ? "temperature unset (provider default samples)" : `temperature ${req.temperature} samples` };
  }
  if (!policy.allow_tools && req.messages.some((m) => TOOL_ROLES.has(m.role))) return { kind: "bypass", reason: "request carries tool messages" };
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
  const turns: [string, string][] = [];
  req.messages.forEach((m, i) => {
    if (i === last) return;
    if (SYSTEM_ROLES.has(m.role)) system.push(normalizeText(m.content));
    // last_turn keeps what follows the question (an assistant prefill still shapes the answer).
    else if (policy.conversation === "full" || i > last) turns.push([m.role, normalizeText(m.content)]);
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
  const scope = hash(JSON.stringify([
    KEY_VERSION, req.tenant, req.use_case, req.model, req.max_tokens, req.temperature, system, turns, template,
    policy.context === "key" ? contextFingerprint(req) : null, tags,
  ]));
  return { scope, key: hash(JSON.stringify([scope, query])), query };
}
