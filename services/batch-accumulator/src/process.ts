import { renderMessages, topics, type LlmRequest, type Message } from "@costwise/schemas";
import type { PriceCatalog, Provider } from "@costwise/pricing";
import { promptTokensIfNeeded, reject, targetModel, validateRequest } from "@costwise/lifecycle";
import { emit, hold, output, skip, type Outcome, type ProcessFn } from "@costwise/stream-runtime";
import type { AddStatus, Pending } from "./accumulator.ts";
import { buildLine } from "./lines.ts";
import type { BatchMetrics } from "./metrics.ts";
import { annotate, ATTEMPT_HEADER } from "./outcomes.ts";
import { batchable, type DeadlinePolicy } from "./policy.ts";
import { encodeStored } from "./stored.ts";

/** Where accepted requests go (the Batcher). */
export interface IntakePort {
  fits(provider: Provider, lineBytes: number): boolean;
  offer(p: Pending, signal: AbortSignal): Promise<AddStatus>;
}

export interface IntakeDeps {
  readonly batcher: IntakePort;
  readonly catalog: PriceCatalog;
  readonly countTokens: (messages: readonly Message[], model: string) => number;
  /** For requests that name no model and were not routed (same default as the executor's). */
  readonly defaultModel: string | null;
  readonly policy: DeadlinePolicy;
  readonly now: () => number;
  readonly metrics?: BatchMetrics;
}

/**
 * Intake of llm.requests.batch: validate exactly like the executor (ERROR response + dead letter
 * for requests that can never succeed), send requests whose deadline a batch cannot meet to the
 * real-time path, and hold the rest in an open batch. A held request's offset is committed only
 * once its batch is submitted and stored (see the runtime's commit watermark).
 */
export function createProcess(deps: IntakeDeps): ProcessFn<LlmRequest> {
  const toRealtime = (req: LlmRequest, reason: string): Outcome => {
    deps.metrics?.toRealtime.inc({ reason });
    return emit(output(topics.ready, annotate(req, 0)));
  };
  return async (req, ctx) => {
    const now = deps.now();
    const model = targetModel(req, deps.defaultModel);
    const messages = renderMessages(req);
    const checked = validateRequest({ request: req, model, catalog: deps.catalog, promptTokens: promptTokensIfNeeded(messages, req.max_tokens, deps.countTokens) });
    if (!checked.ok) {
      const { code, reason } = checked.rejection;
      deps.metrics?.rejected.inc({ code });
      return reject({ request: req, servedBy: "BATCH", catalog: deps.catalog, completedAt: now, code, reason, model, batchId: null });
    }
    if (!batchable(req.deadline_ms, now, deps.policy)) return toRealtime(req, "deadline");
    const price = checked.price;
    const line = buildLine(price, req, messages);
    if (!deps.batcher.fits(price.provider, line.bytes)) return toRealtime(req, "too_large_for_a_batch");
    const attempt = Math.max(1, Number(ctx.envelope.headers[ATTEMPT_HEADER] ?? "1") || 1);
    const source = { topic: ctx.envelope.topic, partition: ctx.envelope.partition, offset: Number(ctx.envelope.offset) };
    const status = await deps.batcher.offer(
      {
        requestId: req.request_id, customId: line.customId, provider: price.provider, model: price.id, source, acceptedAt: now,
        deadline: req.deadline_ms, attempt, line: line.text, lineBytes: line.bytes, stored: encodeStored({ request: req, acceptedAt: now, attempt, source }),
      },
      ctx.signal,
    );
    if (status === "duplicate") {
      deps.metrics?.duplicates.inc();
      return skip("another copy of this request is already accumulating");
    }
    return hold("accumulating");
  };
}
