import { topics, type CostRecord, type LlmResponse } from "@costwise/schemas";
import { PoisonMessageError, skip, errorMessage, type BatchProcessFn, type Envelope, type Outcome } from "@costwise/stream-runtime";
import { callRow, responseRow } from "./rows.ts";

/** A row ClickHouse refused for its content (not for being unreachable): retrying cannot help. */
export class RowRejectedError extends PoisonMessageError {}

export interface RowWriter {
  /** Insert rows; resolves once ClickHouse acknowledged them. Throws RowRejectedError for bad data. */
  insert(table: string, rows: readonly object[]): Promise<void>;
}

export const TABLES = { calls: "llm_calls", responses: "llm_responses" } as const;

/**
 * One insert per sub-batch; the runtime resolves offsets only after it returns, so a row is
 * committed in Kafka only once it is in ClickHouse. Replays rewrite the same request_id, which the
 * ReplacingMergeTree tables collapse. ClickHouse being down throws (transient): the runtime keeps
 * retrying with backoff and nothing is committed meanwhile. A batch refused for its content is
 * split in halves until the bad rows are found; those alone are dead-lettered.
 */
export function createSinkProcess(deps: { writer: RowWriter; now: () => number }): BatchProcessFn<CostRecord | LlmResponse> {
  return async (batch) => {
    const topic = batch[0]?.topic;
    const version = deps.now();
    const table = topic === topics.costRecords.name ? TABLES.calls : TABLES.responses;
    const toRow = (e: Envelope<CostRecord | LlmResponse>) =>
      topic === topics.costRecords.name ? callRow(e.value as CostRecord, version) : responseRow(e.value as LlmResponse, version);
    const outcomes = new Map<Envelope<unknown>, Outcome>();

    const write = async (part: readonly Envelope<CostRecord | LlmResponse>[]): Promise<void> => {
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
