import { newRequest, type LatencyClass, type LlmRequest, type Message, type ResponseFormat, type Tool, type ToolChoice } from "@costwise/schemas";
import { GatewayError, unsupportedParameter } from "./errors.ts";

/** The tools, output-format and sampling options of a call, in the request contract's terms. */
export interface CallOptions {
  readonly tools: readonly Tool[];
  readonly toolChoice: ToolChoice | null;
  readonly parallelToolCalls: boolean | null;
  readonly responseFormat: ResponseFormat | null;
  readonly stop: readonly string[];
  readonly seed: number | null;
  readonly topP: number | null;
  readonly presencePenalty: number | null;
  readonly frequencyPenalty: number | null;
  readonly reasoningEffort: string | null;
  readonly user: string | null;
  readonly metadata: Readonly<Record<string, string>>;
}

export const NO_OPTIONS: CallOptions = {
  tools: [], toolChoice: null, parallelToolCalls: null, responseFormat: null, stop: [], seed: null, topP: null,
  presencePenalty: null, frequencyPenalty: null, reasoningEffort: null, user: null, metadata: {},
};

/**
 * One chat call as the gateway understands it, whichever API it came in through. Everything here is
 * carried into the LlmRequest; a field the request contract gains later is added here, parsed by
 * each dialect and mapped in toLlmRequest, and its row in the dialect's parameter table moves from
 * "unsupported" to "supported".
 */
export interface GatewayCall {
  readonly model: string;
  readonly messages: readonly Message[];
  readonly maxTokens: number | null;
  readonly temperature: number | null;
  readonly stream: boolean;
  /** OpenAI `stream_options.include_usage`: a last chunk with the usage. */
  readonly streamUsage: boolean;
  readonly options: CallOptions;
}

/** What the caller's credentials and costwise headers decided about a call. */
export interface CallContext {
  readonly requestId: string;
  readonly tenant: string;
  readonly useCase: string;
  readonly latencyClass: LatencyClass;
  readonly cacheOff: boolean;
  readonly api: "openai" | "anthropic";
  readonly replicaId: string;
  readonly now: number;
  /** Real-time calls: when the caller stops waiting (epoch ms); batch calls carry none. */
  readonly deadlineMs: number | null;
}

export function toLlmRequest(call: GatewayCall, ctx: CallContext): LlmRequest {
  const o = call.options;
  return newRequest({
    request_id: ctx.requestId,
    tenant: ctx.tenant,
    use_case: ctx.useCase,
    messages: call.messages.map((m) => ({
      role: m.role, content: m.content, parts: [...(m.parts ?? [])], tool_calls: [...(m.tool_calls ?? [])], tool_call_id: m.tool_call_id ?? null,
    })),
    model: call.model,
    max_tokens: call.maxTokens,
    temperature: call.temperature,
    tools: [...o.tools],
    tool_choice: o.toolChoice,
    parallel_tool_calls: o.parallelToolCalls,
    response_format: o.responseFormat,
    stop: [...o.stop],
    seed: o.seed,
    top_p: o.topP,
    presence_penalty: o.presencePenalty,
    frequency_penalty: o.frequencyPenalty,
    reasoning_effort: o.reasoningEffort,
    user: o.user,
    metadata: { ...o.metadata },
    latency_class: ctx.latencyClass,
    deadline_ms: ctx.deadlineMs,
    created_at: ctx.now,
    tags: { gateway: ctx.replicaId, api: ctx.api, ...(ctx.cacheOff ? { cache: "off" } : {}) },
  });
}

/**
 * How a dialect treats each top-level request field:
 * - supported: parsed into the GatewayCall;
 * - ignored: accepted and without effect on the answer (user ids, metadata);
 * - unsupported: the contract cannot carry it yet: 400 "unsupported parameter", unless the value is
 *   the provider's own default (`accepts`), which changes nothing.
 * Fields absent from the table are unknown: the provider's own "unrecognized argument" 400.
 */
export type ParameterRule =
  | { readonly support: "supported" }
  | { readonly support: "ignored" }
  | { readonly support: "unsupported"; readonly why: string; readonly accepts?: (value: unknown) => boolean };

export type ParameterTable = Readonly<Record<string, ParameterRule>>;

export function checkParameters(body: Record<string, unknown>, table: ParameterTable, unknown: (field: string) => GatewayError): void {
  for (const [field, value] of Object.entries(body)) {
    const rule = table[field];
    if (!rule) throw unknown(field);
    if (rule.support !== "unsupported" || value === undefined || value === null) continue;
    if (rule.accepts?.(value)) continue;
    throw unsupportedParameter(field, rule.why);
  }
}

export const NOT_IN_CONTRACT = "not in costwise's request contract";

/** A field the contract cannot carry yet; `accepts` lets the provider's default value through. */
export const unsupported = (accepts?: (value: unknown) => boolean): ParameterRule => ({ support: "unsupported", why: NOT_IN_CONTRACT, ...(accepts ? { accepts } : {}) });
