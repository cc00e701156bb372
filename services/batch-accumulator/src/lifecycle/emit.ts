import { requireModel } from "@costwise/pricing";
import { topics } from "@costwise/schemas";
import { deadLetterRecord, errorMessage, PoisonMessageError, type ProducedRecord } from "@costwise/stream-runtime";
import { decide, type BatchContext, type Decision, type DecisionKind } from "../outcomes.ts";
import type { ProviderBatchState } from "../provider-api.ts";
import type { FailureKind, LineResult } from "../results.ts";
import type { BatchRecord } from "../store.ts";
import { decodeStored } from "../stored.ts";
import type { LifecycleCore } from "./core.ts";

const FAILURE_OF_OUTCOME: Record<string, FailureKind> = { failed: "failed", cancelled: "cancelled", expired: "expired" };

/** Ended → done: turn a batch's results into responses, cost records, retries and real-time fallbacks. */
export class Results {
  constructor(private readonly core: LifecycleCore) {}

  async emit(rec: BatchRecord, polled?: ProviderBatchState): Promise<void> {
    const { store, apis, catalog, settings, logger } = this.core.deps;
    const api = apis[rec.provider];
    const price = requireModel(catalog, rec.model);
    const ctx: BatchContext = { batchId: rec.id, providerBatchId: rec.providerBatchId, price, submittedAt: rec.submittedAt, cancelDisposition: rec.cancelDisposition };
    const counts: Record<DecisionKind, number> = { ok: 0, batch: 0, realtime: 0, error: 0 };
    let chunk: LineResult[] = [];
    let outcome = rec.outcome;
    if (rec.providerBatchId && outcome !== "failed") {
      const pid = rec.providerBatchId;
      try {
        const state = polled ?? (await api.retrieve(pid));
        const onBadLine = (err: unknown) => logger.error({ batchId: rec.id, err: errorMessage(err) }, "unreadable result line skipped; its request is handled as missing");
        for await (const line of api.results(pid, state, onBadLine)) {
          chunk.push(line);
          if (chunk.length >= settings.emitChunk) {
            await this.emitChunk(rec, ctx, chunk, counts);
            chunk = [];
          }
        }
        await this.emitChunk(rec, ctx, chunk, counts);
      } catch (err) {
        if (!(err instanceof PoisonMessageError)) throw err;
        // The provider refuses to hand over results (gone, deleted): every request falls back.
        logger.error({ batchId: rec.id, providerBatchId: pid, err: errorMessage(err) }, "batch results unavailable");
        outcome = "failed";
      }
    }
    // Requests the results did not mention (a failed batch has none at all) still get their outcome.
    const kind: FailureKind = FAILURE_OF_OUTCOME[outcome ?? ""] ?? "missing";
    const message = rec.error ?? (kind === "missing" ? "the batch results have no line for this request" : `the batch ${kind}`);
    for await (const ids of store.remaining(rec.id, settings.emitChunk)) {
      await this.emitChunk(rec, ctx, ids.map((customId) => ({ customId, ok: false as const, retryable: true, kind, code: `batch_${kind}`, message })), counts);
    }
    const doneAt = this.core.deps.now();
    await this.core.persist("complete", rec.id, () => store.complete(rec.id, doneAt, counts));
    this.core.tracked.delete(rec.id);
    logger.info({ batchId: rec.id, providerBatchId: rec.providerBatchId, outcome: rec.outcome, ...counts }, "batch done");
  }

  private async emitChunk(rec: BatchRecord, ctx: BatchContext, lines: readonly LineResult[], counts: Record<DecisionKind, number>): Promise<void> {
    if (lines.length === 0) return;
    const { store, output, metrics, catalog, defaultModel, policy, apis, logger } = this.core.deps;
    const payloads = await store.payloads(rec.id, lines.map((l) => l.customId));
    const now = this.core.deps.now();
    const decisions: Decision[] = [];
    const seen = new Set<string>();
    const dlq: ProducedRecord[] = [];
    lines.forEach((line, i) => {
      const payload = payloads[i];
      // Null: outcome already produced (a redo after a crash), or a custom_id that is not ours.
      if (payload === null || payload === undefined || seen.has(line.customId)) return;
      seen.add(line.customId);
      const s = decodeStored(payload);
      const d = decide(line, s, ctx, { catalog, defaultModel, policy, parse: apis[rec.provider].parse, billed: apis[rec.provider].billed }, now);
      decisions.push(d);
      if (d.deadLetter !== null) {
        const msg = { key: Buffer.from(s.request.request_id), value: output.serde.encode(topics.batch, s.request), headers: {}, offset: String(s.source.offset), timestamp: String(s.acceptedAt) };
        dlq.push(deadLetterRecord(topics.deadLetters, msg, { reason: d.deadLetter, service: "batch-accumulator", sourceTopic: s.source.topic, partition: s.source.partition, now, errorClass: "ProviderRejected" }));
      }
    });
    if (decisions.length === 0) return;
    await this.core.persist("claims", rec.id, () => store.markClaims(rec.id, decisions.flatMap((d) => (d.claim ? [{ requestId: d.requestId, value: d.claim }] : []))));
    const outputs = decisions.flatMap((d) => d.outputs);
    await this.core.persist("produce", rec.id, () => output.send(outputs, dlq));
    await this.core.persist("finish", rec.id, () => store.finish(rec.id, decisions.map((d) => d.customId)));
    for (const d of decisions) {
      counts[d.kind]++;
      metrics.outcomes.inc({ provider: rec.provider, outcome: d.kind });
    }
    logger.debug({ batchId: rec.id, lines: lines.length, decided: decisions.length }, "batch results emitted");
  }
}
