import { topics, type LlmRequest, type LlmResponse, type Message } from "@costwise/schemas";
import { insertIsolating, type RowWriter } from "@costwise/clickhouse-writer";
import { deadLetter, emit, errorMessage, mapLimit, output, skip, type BatchProcessFn, type Envelope, type Outcome, type Output } from "@costwise/stream-runtime";
import { answerWanted, buildSample, isFrontierAnswer, planFor, type PendingPrompt } from "./capture.ts";
import type { DistillerMetrics } from "./metrics.ts";
import type { DistillPolicy, UseCaseDistillPolicy } from "./policy.ts";
import { createRedactor, type Redactor } from "./redact.ts";
import { DISTILL_TABLES, shadowCompare, type DistillShadowRow, type ShadowDeps } from "./shadow.ts";
import type { JoinStore } from "./store.ts";

export interface DistillerDeps extends ShadowDeps {
  readonly policy: DistillPolicy;
  readonly store: JoinStore;
  /** Where shadow comparisons go (distill_shadow); rows are idempotent by request_id (ReplacingMergeTree). */
  readonly writer: RowWriter;
  /** renderMessages from @costwise/schemas: the messages the model was really sent. */
  readonly render: (req: LlmRequest) => Message[];
  /** How long a prompt (or an early answer) waits for the other half of the join. */
  readonly joinTtlSeconds: number;
  /** Shadow calls in flight at once per sub-batch. */
  readonly concurrency: number;
  readonly metrics?: DistillerMetrics;
}

type Input = LlmRequest | LlmResponse;

const JOIN_CONCURRENCY = 32;

interface Work {
  readonly index: number;
  readonly prompt: PendingPrompt;
  readonly answer: LlmResponse;
}


/**
 * The distiller's loop over llm.requests.ready, llm.requests.batch and llm.responses. Requests of
 * use cases with capture or shadow sampled are remembered; when a request's frontier answer
 * joins its prompt, the capture filters and PII redaction make a DistillSample for
 * llm.distill-samples, and a shadow-sampled one is also answered by the use case's candidate
 * model and scored, the comparison landing in distill_shadow. Nothing here reaches a user.
 */
export function createDistillerProcess(deps: DistillerDeps): BatchProcessFn<Input> {
  const redactors = new Map<string, Redactor>();
  const redactorFor = (uc: UseCaseDistillPolicy) => {
    let r = redactors.get(uc.useCase);
    if (!r) redactors.set(uc.useCase, (r = createRedactor(uc.capture.redaction)));
    return r;
  };
  const m = deps.metrics;

  return async (batch, ctx) => {
    const notes = new Array<string>(batch.length).fill("");
    const joined: Work[] = [];
    // The Redis round trips of a sub-batch overlap; which side of a join arrives first does not matter.
    await mapLimit(batch.map((e, i) => ({ e, i })), JOIN_CONCURRENCY, async ({ e, i }) => {
      if (e.topic === topics.responses.name) {
        const res = e.value as LlmResponse;
        if (!answerWanted(res, deps.policy)) {
          notes[i] = "not sampled";
          return;
        }
        const prompt = await deps.store.offerAnswer(res, deps.joinTtlSeconds);
        if (prompt) joined.push({ index: i, prompt, answer: res });
        else notes[i] = "answer waiting for its prompt";
      } else {
        const plan = planFor(e.value as LlmRequest, deps.policy, deps.render);
        if (!plan) {
          notes[i] = "not sampled";
          return;
        }
        const answer = await deps.store.offerPrompt(plan, deps.joinTtlSeconds);
        if (answer) joined.push({ index: i, prompt: plan, answer });
        else notes[i] = "prompt remembered";
      }
    });
    joined.sort((a, b) => a.index - b.index);

    const outputs = new Map<number, Output>();
    const shadowWork: Work[] = [];
    for (const w of joined) {
      const uc = deps.policy.useCases.get(w.prompt.use_case);
      if (!uc) {
        notes[w.index] = "use case no longer in the policy";
        continue;
      }
      const results: string[] = [];
      if (w.prompt.capture) {
        const r = buildSample(w.prompt, w.answer, uc, redactorFor(uc), deps.now());
        if ("sample" in r) {
          outputs.set(w.index, output(topics.distillSamples, r.sample));
          results.push("captured");
          m?.captured.inc({ use_case: uc.useCase });
          for (const [rule, n] of Object.entries(r.sample.redactions)) m?.redactions.inc({ use_case: uc.useCase, rule }, n);
        } else {
          results.push(`not captured: ${r.skipped}`);
          m?.notCaptured.inc({ use_case: uc.useCase, reason: r.skipped });
        }
      }
      if (w.prompt.shadow && uc.candidate && w.answer.status === "OK" && w.answer.content !== null && isFrontierAnswer(w.prompt, w.answer, uc)) shadowWork.push(w);
      notes[w.index] = results.join("; ");
    }

    // Claims of this sub-batch are all given back if anything fails, so the retry compares again.
    const rows: { index: number; row: DistillShadowRow }[] = [];
    const claimed: string[] = [];
    const failures = await mapLimit(shadowWork, deps.concurrency, async (w): Promise<unknown> => {
      const uc = deps.policy.useCases.get(w.prompt.use_case)!;
      // One shadow call per request even when both halves of the join are redelivered.
      if (!(await deps.store.claimShadow(w.prompt.request_id, deps.joinTtlSeconds))) return null;
      claimed.push(w.prompt.request_id);
      try {
        const r = await shadowCompare(w.prompt, w.answer, uc, deps, ctx.signal);
        if ("row" in r) {
          rows.push({ index: w.index, row: r.row });
          const result = r.row.decided ? (r.row.agreed ? "agree" : "disagree") : "undecided";
          m?.shadowResults.inc({ use_case: uc.useCase, result });
          m?.shadowCostNanoUsd.inc({ use_case: uc.useCase }, r.row.candidate_cost_nanousd + r.row.judge_cost_nanousd);
          notes[w.index] = `${notes[w.index] ? `${notes[w.index]}; ` : ""}shadow ${result}`;
        } else {
          m?.shadowResults.inc({ use_case: uc.useCase, result: "dropped" });
          ctx.logger.warn({ request_id: w.prompt.request_id, use_case: uc.useCase, reason: r.dropped }, "shadow comparison dropped");
        }
        return null;
      } catch (err) {
        return err ?? new Error("shadow call failed");
      }
    });
    const failed = failures.find((f) => f !== null);
    const refused = new Map<number, string>();
    try {
      if (failed) throw failed;
      // A row ClickHouse refuses dead-letters the input that produced it instead of stalling the partition.
      for (const r of await insertIsolating(deps.writer, DISTILL_TABLES.shadow, rows, (x) => x.row)) refused.set(r.item.index, r.reason);
    } catch (err) {
      await Promise.all(claimed.map((id) => deps.store.releaseShadow(id).catch(() => undefined)));
      ctx.logger.debug({ err: errorMessage(err), shadows: claimed.length }, "shadow comparisons failed: the sub-batch will be retried");
      throw err;
    }

    return batch.map((_e: Envelope<Input>, i): Outcome => {
      const out = outputs.get(i);
      const reason = refused.get(i);
      if (reason !== undefined) return deadLetter(reason, ...(out ? [out] : []));
      return out ? emit(out) : skip(notes[i] || "nothing to do");
    });
  };
}
