import { ClickHouseError, type ClickHouseClient } from "@clickhouse/client";
import { PoisonMessageError, TransientError, errorMessage } from "@costwise/stream-runtime";

/** A row ClickHouse refused for its content (not for being unreachable): retrying cannot help. */
export class RowRejectedError extends PoisonMessageError {}

export interface RowWriter {
  /**
   * Insert rows in one request; resolves once ClickHouse acknowledged them. Throws
   * RowRejectedError when ClickHouse refuses the data, TransientError when it cannot be reached.
   */
  insert(table: string, rows: readonly object[]): Promise<void>;
}

/** ClickHouse error codes that mean "this data", not "this moment". */
const DATA_ERRORS = new Set([
  "6", // CANNOT_PARSE_TEXT
  "26", // CANNOT_PARSE_QUOTED_STRING
  "27", // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  "32", // ATTEMPT_TO_READ_AFTER_EOF
  "53", // TYPE_MISMATCH
  "69", // ARGUMENT_OUT_OF_BOUND
  "70", // CANNOT_CONVERT_TYPE
  "72", // CANNOT_PARSE_NUMBER
  "117", // INCORRECT_DATA
  "131", // TOO_LARGE_STRING_SIZE
  "321", // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
]);

/** JSONEachRow inserts into `database`.`table`. */
export function clickhouseWriter(client: ClickHouseClient, database: string): RowWriter {
  return {
    async insert(table, rows) {
      if (rows.length === 0) return;
      try {
        await client.insert({ table: `${database}.${table}`, values: rows as object[], format: "JSONEachRow" });
      } catch (err) {
        if (err instanceof ClickHouseError && DATA_ERRORS.has(err.code)) throw new RowRejectedError(err.message, { cause: err });
        throw new TransientError(`ClickHouse insert into ${table} failed: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

/** An item whose row ClickHouse refused, with ClickHouse's reason. */
export interface Rejected<T> {
  readonly item: T;
  readonly reason: string;
}

/**
 * Write the rows of `items` in one insert. When ClickHouse refuses the data, the items are split
 * in halves until the refused rows are found: those come back as rejected (for the caller to
 * dead-letter), every other row is stored. An outage throws, so the caller's input stays
 * uncommitted and is retried; a rejected row never stalls a partition.
 */
export async function insertIsolating<T>(writer: RowWriter, table: string, items: readonly T[], toRow: (item: T) => object): Promise<Rejected<T>[]> {
  const rejected: Rejected<T>[] = [];
  const write = async (part: readonly T[]): Promise<void> => {
    if (part.length === 0) return;
    try {
      await writer.insert(table, part.map(toRow));
    } catch (err) {
      if (!(err instanceof RowRejectedError)) throw err;
      if (part.length === 1) {
        rejected.push({ item: part[0]!, reason: `ClickHouse rejected the row for ${table}: ${errorMessage(err)}` });
        return;
      }
      const mid = Math.ceil(part.length / 2);
      await write(part.slice(0, mid));
      await write(part.slice(mid));
    }
  };
  await write(items);
  return rejected;
}
