import { topics, type CostRecord, type DistillSample, type LlmResponse } from "@costwise/schemas";
import { callRow, distillSampleRow, insertIsolating, responseRow, TABLES, type RowWriter } from "@costwise/clickhouse-writer";
import { skip, type BatchProcessFn, type Envelope, type Outcome } from "@costwise/stream-runtime";

type SinkRecord = CostRecord | LlmResponse | DistillSample;

/** The table and row mapping of each input topic (a sub-batch always comes from one topic). */
function tableOf(topic: string | undefined): { table: string; toRow: (v: SinkRecord, version: number) => object } {
  if (topic === topics.costRecords.name) return { table: TABLES.calls, toRow: (v, n) => callRow(v as CostRecord, n) };
  if (topic === topics.distillSamples.name) return { table: TABLES.distillSamples, toRow: (v, n) => distillSampleRow(v as DistillSample, n) };
  return { table: TABLES.responses, toRow: (v, n) => responseRow(v as LlmResponse, n) };
}

/**
 * One insert per sub-batch; the runtime resolves offsets only after it returns, so a row is
 * committed in Kafka only once it is in ClickHouse. Replays rewrite the same request_id, which the
 * ReplacingMergeTree tables collapse. ClickHouse being down throws (transient): the runtime keeps
 * retrying with backoff and nothing is committed meanwhile. Rows refused for their content are
 * isolated by the writer and only their inputs are dead-lettered.
 */
export function createSinkProcess(deps: { writer: RowWriter; now: () => number }): BatchProcessFn<SinkRecord> {
  return async (batch) => {
    const version = deps.now();
    const { table, toRow } = tableOf(batch[0]?.topic);
    const rejected = await insertIsolating(deps.writer, table, batch, (e: Envelope<SinkRecord>) => toRow(e.value, version));
    const outcomes = new Map<Envelope<SinkRecord>, Outcome>(rejected.map((r) => [r.item, { outputs: [], deadLetter: r.reason }]));
    return batch.map((e) => outcomes.get(e) ?? skip(`stored in ${table}`));
  };
}
