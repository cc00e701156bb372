import type { LlmRequest, Message } from "@costwise/schemas";
import { findModel, type ModelPrice, type PriceCatalog } from "@costwise/pricing";
import { contractProblem, type ContractProblem } from "./contract.ts";

/** Why a request can never be served, as a stable code plus a sentence for the caller. */
export interface Rejection {
  readonly code: "EMPTY_MESSAGES" | "INVALID_ROLE" | "UNKNOWN_MODEL" | "INPUT_TOO_LARGE" | "INVALID_PARAMETER" | "NO_MODEL" | ContractProblem["code"];
  readonly reason: string;
}

/** The provider itself answered that it does not serve the model (a name neither the catalog nor the provider knows). */
export function providerUnknownModel(model: string, detail: string): Rejection {
  return { code: "UNKNOWN_MODEL", reason: `unknown model '${model}': the provider does not serve it (${detail})` };
}

const ROLES = new Set(["system", "user", "assistant", "tool"]);

/** A message says something: text, a content part, or a tool call. */
const hasContent = (m: LlmRequest["messages"][number]) => m.content.trim() !== "" || (m.parts?.length ?? 0) > 0 || (m.tool_calls?.length ?? 0) > 0;

export interface ValidationInput {
  readonly request: LlmRequest;
  readonly model: string | null;
  readonly catalog: PriceCatalog;
  readonly promptTokens: (model: ModelPrice) => number;
}

/**
 * An upper bound of the prompt tokens for any of the catalog's tokenizers: a token covers at least
 * one byte, and chat framing costs 3 tokens per message and 3 for the reply (Claude's joined system
 * text costs less than the framing it replaces).
 */
export function promptTokenBound(messages: readonly Message[]): number {
  let bound = 3;
  for (const m of messages) bound += 3 + Buffer.byteLength(m.role) + Buffer.byteLength(m.content);
  return bound;
}

/**
 * `promptTokens` for `validateRequest` that tokenises only when it must: accepting needs to know
 * that the prompt fits, and when the byte bound already fits the model's window, so does the exact
 * count. Only a prompt near or over the limit is counted (and the rejection quotes that count).
 */
export function promptTokensIfNeeded(messages: readonly Message[], maxTokens: number | null, count: (messages: readonly Message[], model: string) => number): (model: ModelPrice) => number {
  let bound: number | undefined;
  return (p) => {
    bound ??= promptTokenBound(messages);
    return bound <= p.contextWindow - (maxTokens ?? 0) ? bound : count(messages, p.id);
  };
}

/** Pure checks, cheapest first; the prompt is only tokenised once the model is known. */
export function validateRequest({ request, model, catalog, promptTokens }: ValidationInput): { ok: true; price: ModelPrice; promptTokens: number } | { ok: false; rejection: Rejection } {
  const reject = (code: Rejection["code"], reason: string) => ({ ok: false as const, rejection: { code, reason } });
  if (request.messages.length === 0) return reject("EMPTY_MESSAGES", "messages is empty: send at least one message with role 'user'");
  if (!request.messages.some(hasContent)) return reject("EMPTY_MESSAGES", "every message has empty content");
  const badRole = request.messages.find((m) => !ROLES.has(m.role));
  if (badRole) return reject("INVALID_ROLE", `message role '${badRole.role}' is not one of system, user, assistant, tool`);
  if (!request.messages.some((m) => m.role === "user")) return reject("EMPTY_MESSAGES", "no message has role 'user'");
  if (!model) return reject("NO_MODEL", "the request names no model and no default model is configured (COSTWISE_DEFAULT_MODEL)");
  const price = findModel(catalog, model);
  if (!price || price.kind !== "chat") {
    return reject("UNKNOWN_MODEL", `unknown model '${model}': not a chat model in price catalog ${catalog.version}`);
  }
  if (request.max_tokens !== null && (request.max_tokens < 1 || request.max_tokens > price.maxOutputTokens)) {
    return reject("INVALID_PARAMETER", `max_tokens ${request.max_tokens} is outside 1..${price.maxOutputTokens} for ${price.id}`);
  }
  if (request.temperature !== null && (request.temperature < 0 || request.temperature > 2 || Number.isNaN(request.temperature))) {
    return reject("INVALID_PARAMETER", `temperature ${request.temperature} is outside 0..2`);
  }
  const contract = contractProblem(request, price);
  if (contract) return reject(contract.code, contract.reason);
  const tokens = promptTokens(price);
  const budget = price.contextWindow - (request.max_tokens ?? 0);
  if (tokens > budget) {
    return reject("INPUT_TOO_LARGE", `input is ${tokens} tokens; ${price.id} accepts ${budget} (context window ${price.contextWindow} minus max_tokens ${request.max_tokens ?? 0})`);
  }
  return { ok: true, price, promptTokens: tokens };
}
