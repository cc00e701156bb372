import { emptyPipelineState, renderMessages, type CompressionInfo, type LlmRequest, type Message } from "@costwise/schemas";
import { findModel, type PriceCatalog } from "@costwise/pricing";
import { chargeOverhead, recordStage, reject as rejectRequest, targetModel } from "@costwise/lifecycle";
import { emit, output, type Outcome, type ProcessFn } from "@costwise/stream-runtime";
import type { Compressor } from "./compressor.ts";
import { dispatchTopic, type DispatchPolicy } from "./dispatch.ts";
import type { CompressionMetrics } from "./metrics.ts";

export interface CompressionDeps {
  readonly compress: Compressor;
  readonly catalog: PriceCatalog;
  /** Tokens of a text with a model's tokenizer (`countTextTokens` from @costwise/providers). */
  readonly countTokens: (text: string, model: string) => number;
  /** Prompt tokens of messages as billed (`countChatTokens`), for the room left in the model's window. */
  readonly countChatTokens: (messages: readonly Message[], model: string) => number;
  /** The model whose tokenizer and window apply when a request names none. */
  readonly defaultModel: string;
  readonly dispatch: DispatchPolicy;
  readonly maxContextChars: number;
  readonly now: () => number;
  readonly metrics?: CompressionMetrics;
}

/** The user's question: the last user message, which the executor renders the context in front of. */
export function questionOf(req: Pick<LlmRequest, "messages">): string {
  for (let i = req.messages.length - 1; i >= 0; i--) if (req.messages[i]!.role === "user") return req.messages[i]!.content;
  return "";
}

/**
 * The compression stage: shrink `request.context` by the use case's policy, record tokens before
 * and after (per strategy), the stage time and any summariser spend on the request, and send it
 * on to real-time execution or a provider batch. Messages are never touched. A context too large
 * for any model is rejected; any unexpected failure of a strategy sends the request on
 * uncompressed (compression saves money, it must not lose requests).
 */
export function createProcess(deps: CompressionDeps): ProcessFn<LlmRequest> {
  const reject = (req: LlmRequest, chars: number): Outcome => {
    const reason = `context is ${chars} characters; the compression stage accepts at most ${deps.maxContextChars} (COMPRESSION_MAX_CONTEXT_CHARS), more than any model's window`;
    deps.metrics?.requests.inc({ use_case: req.use_case, outcome: "rejected" });
    return rejectRequest({ request: req, servedBy: "REALTIME", catalog: deps.catalog, completedAt: deps.now(), code: "INPUT_TOO_LARGE", reason, model: null });
  };

  /** Context tokens the model can still take, when the prompt might not fit its window; else undefined. */
  const roomFor = (req: LlmRequest, model: string): number | undefined => {
    const price = findModel(deps.catalog, model);
    if (!price) return undefined;
    // A token is at least one byte, so a prompt with fewer bytes than the window always fits.
    const bytes = [...req.messages.map((m) => m.content), ...req.context.map((c) => c.text)].reduce((n, s) => n + Buffer.byteLength(s), 0);
    if (bytes + (req.max_tokens ?? 0) <= price.contextWindow) return undefined;
    return price.contextWindow - deps.countChatTokens(renderMessages({ messages: req.messages, context: [] }), model) - (req.max_tokens ?? 0);
  };

  return async (req, ctx) => {
    const started = deps.now();
    const chars = req.context.reduce((n, c) => n + c.text.length, 0);
    if (chars > deps.maxContextChars) return reject(req, chars);

    const model = targetModel(req, deps.defaultModel) ?? deps.defaultModel;
    const pipeline = req.pipeline ?? emptyPipelineState();
    let context = req.context;
    let info: CompressionInfo | null = null;
    let overhead = 0;
    let outcome: "compressed" | "unchanged" | "no_context" | "failed_open" = "no_context";
    if (req.context.length > 0) {
      try {
        const room = roomFor(req, model);
        const out = await deps.compress({
          chunks: req.context, question: questionOf(req), useCase: req.use_case, requestId: req.request_id,
          countTokens: (t) => deps.countTokens(t, model), ...(room !== undefined ? { roomTokens: room } : {}), logger: ctx.logger, signal: ctx.signal,
        });
        context = [...out.chunks];
        info = out.info;
        overhead = out.overheadNanoUsd;
        for (const s of out.refused) deps.metrics?.strategyEvents.inc({ strategy: s, event: "refused" });
        outcome = info && info.context_tokens_after < info.context_tokens_before ? "compressed" : "unchanged";
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        ctx.logger.error({ err: (err as Error).message, stack: (err as Error).stack, request_id: req.request_id }, "compression failed: request sent on uncompressed");
        outcome = "failed_open";
      }
    }

    const compressed = recordStage({ ...req, context, pipeline: { ...chargeOverhead(pipeline, "summariser", overhead), compression: info } }, "compression", deps.now() - started);
    const topic = dispatchTopic(req, deps.dispatch, deps.now());
    const m = deps.metrics;
    if (m) {
      m.requests.inc({ use_case: req.use_case, outcome });
      m.dispatched.inc({ topic: topic.name });
      if (info) {
        m.contextTokens.inc({ use_case: req.use_case, phase: "before" }, info.context_tokens_before);
        m.contextTokens.inc({ use_case: req.use_case, phase: "after" }, info.context_tokens_after);
      }
      if (overhead > 0) m.overheadNanoUsd.inc({ use_case: req.use_case }, overhead);
    }
    return emit(output(topic, compressed));
  };
}
