import { topics, type CostRecord, type DistillSample, type LlmOutcome, type LlmResponse } from "@costwise/schemas";
import { callRow, distillSampleRow, insertIsolating, outcomeRow, responseRow, TABLES, type RowWriter } from "@costwise/clickhouse-writer";
import { outcomeProblem } from "@costwise/outcomes";
import { skip, type BatchProcessFn, type Envelope, type Outcome } from "@costwise/stream-runtime";

type SinkRecord = CostRecord | LlmResponse | DistillSample | LlmOutcome;

/** The table and row mapping of each input topic (a sub-batch always comes from one topic), and what makes a record unusable. */
function tableOf(topic: string | undefined): { table: string; toRow: (v: SinkRecord, version: number) => object; problem: (v: SinkRecord) => string | null } {
  const fine = () => null;
  if (topic === topics.costRecords.name) return { table: TABLES.calls, toRow: (v, n) => callRow(v as CostRecord, n), problem: fine };
  if (topic === topics.distillSamples.name) return { table: TABLES.distillSamples, toRow: (v, n) => distillSampleRow(v as DistillSample, n), problem: fine };
  // Outcomes for request ids with no call yet are kept: the outcome may arrive before the call row.
  if (topic === topics.outcomes.name) return { table: TABLES.outcomes, toRow: (v, n) => outcomeRow(v as LlmOutcome, n), problem: (v) => outcomeProblem(v as LlmOutcome) };
  return { table: TABLES.responses, toRow: (v, n) => responseRow(v as LlmResponse, n), problem: fine };
}

/**
 * One insert per sub-batch; the runtime resolves offsets only after it returns, so a row is
 * committed in Kafka only once it is in ClickHouse. Replays rewrite the same request_id, which the
 * ReplacingMergeTree tables collapse. ClickHouse being down throws (transient): the runtime keeps
 * retrying with backoff and nothing is committed meanwhile. Records that are well-formed Avro but
 * unusable (an outcome with a score outside [0, 1] or no verdict) and rows refused by ClickHouse
 * for their content are dead-lettered with the reason; the rest is stored.
 */
export function createSinkProcess(deps: { writer: RowWriter; now: () => number }): BatchProcessFn<SinkRecord> {
  return async (batch) => {
    const version = deps.now();
    const { table, toRow, problem } = tableOf(batch[0]?.topic);
    const outcomes = new Map<Envelope<SinkRecord>, Outcome>();
    for (const e of batch) {
      const why = problem(e.value);
      if (why) outcomes.set(e, { outputs: [], deadLetter: why });
    }
    const usable = batch.filter((e) => !outcomes.has(e));
    const rejected = usable.length ? await insertIsolating(deps.writer, table, usable, (e: Envelope<SinkRecord>) => toRow(e.value, version)) : [];
    for (const r of rejected) outcomes.set(r.item, { outputs: [], deadLetter: r.reason });
    return batch.map((e) => outcomes.get(e) ?? skip(`stored in ${table}`));
  };
}
