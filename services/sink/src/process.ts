import { topics, type CostRecord, type DistillSample, type LlmResponse } from "@costwise/schemas";
import { PoisonMessageError, skip, errorMessage, type BatchProcessFn, type Envelope, type Outcome } from "@costwise/stream-runtime";
import { callRow, distillSampleRow, responseRow } from "./rows.ts";

/** A row ClickHouse refused for its content (not for being unreachable): retrying cannot help. */
export class RowRejectedError extends PoisonMessageError {}

export interface RowWriter {
  /** Insert rows; resolves once ClickHouse acknowledged them. Throws RowRejectedError for bad data. */
  insert(table: string, rows: readonly object[]): Promise<void>;
}

export const TABLES = { calls: "llm_calls", responses: "llm_responses", distillSamples: "distill_samples" } as const;

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
 * retrying with backoff and nothing is committed meanwhile. A batch refused for its content is
 * split in halves until the bad rows are found; those alone are dead-lettered.
 */
export function createSinkProcess(deps: { writer: RowWriter; now: () => number }): BatchProcessFn<SinkRecord> {
  return async (batch) => {
    const version = deps.now();
    const { table, toRow: mapRow } = tableOf(batch[0]?.topic);
    const toRow = (e: Envelope<SinkRecord>) => mapRow(e.value, version);
    const outcomes = new Map<Envelope<unknown>, Outcome>();

    const write = async (part: readonly Envelope<SinkRecord>[]): Promise<void> => {
      try {
        await deps.writer.insert(table, part.map(toRow));
      } catch (err) {
        if (!(err instanceof RowRejectedError)) throw err;
        if (part.length === 1) {
          outcomes.set(part[0]!, { outputs: [], deadLetter: `ClickHouse rejected the row for ${table}: ${errorMessage(err)}` });
          return;
        }
        const mid = Math.ceil(part.length / 2);
        await write(part.slice(0, mid));
        await write(part.slice(mid));
      }
    };
    await write(batch);
    return batch.map((e) => outcomes.get(e) ?? skip(`stored in ${table}`));
  };
}
