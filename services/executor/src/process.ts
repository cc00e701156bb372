import { renderMessages, requestOptions, type LlmRequest, type Message, type RouteDecision, type ToolCall } from "@costwise/schemas";
import { costOf, findModel, type PriceCatalog, type Usage } from "@costwise/pricing";
import { answer, baselineModel, chargeRequest, reject as rejectRequest, promptTokensIfNeeded, providerUnknownModel, targetModel, validateRequest, type Rejection } from "@costwise/lifecycle";
import { ModelNotFoundError, type ChatRequest } from "@costwise/providers";
import { emit, PoisonMessageError, type Outcome, type ProcessFn } from "@costwise/stream-runtime";

/** The one provider call the executor needs (see @costwise/providers). */
export interface ChatPort {
  chat(req: ChatRequest): Promise<{
    content: string;
    /** Absent: none. */
    toolCalls?: ToolCall[];
    refusal?: string | null;
    model: string;
    usage: Usage;
    finishReason: string;
    attempts: number;
    latencyMs: number;
    fellBackFrom: string | null;
  }>;
}

export interface ExecutorDeps {
  readonly providers: ChatPort;
  readonly catalog: PriceCatalog;
  readonly countTokens: (messages: readonly Message[], model: string) => number;
  /** Used when neither the router nor the caller names a model. */
  readonly defaultModel: string | null;
  readonly now: () => number;
  /** Cascade routes: after the cheap answer, the route to escalate to, or null to keep the answer. */
  readonly cascade?: CascadePort;
  /** Called for every answer from a model the catalog has no price for (served under UNPRICED_MODELS=serve). */
  readonly onUnpriced?: (model: string) => void;
  /** Use cases whose provider prompt-cache breakpoints are placed from the first request. */
  readonly promptCacheAlways?: ReadonlySet<string>;
}

export interface CascadePort {
  escalation(req: LlmRequest, answer: { content: string; finishReason: string }): RouteDecision | null;
}

/**
 * Real-time execution of one request: validate, call the routed (or requested) model, and emit the
 * response plus its cost record. Requests that can never succeed get an ERROR response with the
 * reason and are dead-lettered; provider failures that may pass are thrown for the runtime to retry.
 */
export function createProcess(deps: ExecutorDeps): ProcessFn<LlmRequest> {
  const reject = (req: LlmRequest, r: Rejection, model: string | null): Outcome =>
    rejectRequest({ request: req, servedBy: "REALTIME", catalog: deps.catalog, completedAt: deps.now(), code: r.code, reason: r.reason, model });

  return async (input, ctx) => {
    let req = input;
    const model = targetModel(req, deps.defaultModel);
    const messages = renderMessages(req);
    const checked = validateRequest({ request: req, model, catalog: deps.catalog, promptTokens: promptTokensIfNeeded(messages, req.max_tokens, deps.countTokens) });
    if (!checked.ok) return reject(req, checked.rejection, model);

    const started = deps.now();
    // Tools, output format, stop, seed and sampling options, named as the providers' ChatRequest names them.
    const options = requestOptions(req);
    const promptCache = deps.promptCacheAlways?.has(req.use_case) ? { promptCache: "always" as const } : {};
    const call = (m: string) =>
      deps.providers.chat({ model: m, messages, maxTokens: req.max_tokens, temperature: req.temperature, ...options, ...promptCache, requestId: req.request_id, signal: ctx.signal });
    let result;
    try {
      result = await call(checked.price.id);
      // The cascade's checks read text; an answer that calls tools is kept as it is.
      const calledTools = (result.toolCalls?.length ?? 0) > 0;
      const escalate = req.pipeline?.route?.strategy === "cascade" && !calledTools ? deps.cascade?.escalation(req, result) : null;
      if (escalate) {
        // The cheap attempt was paid for; it counts against the routing saving, as the router's own cost.
        const cheap = findModel(deps.catalog, result.model) ?? checked.price;
        const cheapCost = costOf(cheap, result.usage, "realtime", deps.catalog.version).totalNanoUsd;
        const charged = chargeRequest(req, "router", cheapCost);
        req = { ...charged, pipeline: { ...charged.pipeline!, route: escalate } };
        ctx.logger.info({ from: cheap.id, to: escalate.model }, "cascade escalated");
        result = await call(escalate.model);
      }
    } catch (err) {
      // The provider refused the request itself (bad parameter, unknown model, credentials): final.
      if (err instanceof ModelNotFoundError) return reject(req, providerUnknownModel(err.model, err.message), checked.price.id);
      if (err instanceof PoisonMessageError) return reject(req, { code: "INVALID_PARAMETER", reason: `provider rejected the request: ${err.message}` }, checked.price.id);
      throw err;
    }
    const now = deps.now();
    const used = findModel(deps.catalog, result.model) ?? checked.price;
    if (result.fellBackFrom) ctx.logger.warn({ from: result.fellBackFrom, to: used.id }, "answered by fallback model");
    if (used.unpriced) {
      deps.onUnpriced?.(used.id);
      ctx.logger.warn({ model: used.id, requestId: req.request_id }, "served a model with no catalog price: cost recorded as unpriced");
    }
    const done = answer({
      request: req, servedBy: "REALTIME", catalog: deps.catalog, completedAt: now, content: result.content, model: used, usage: result.usage,
      finishReason: result.finishReason, toolCalls: result.toolCalls, refusal: result.refusal,
      baselineModel: baselineModel(req, deps.catalog, deps.defaultModel), attempts: result.attempts, stageMs: { executor: now - started },
    });
    return emit(...done.outputs);
  };
}
