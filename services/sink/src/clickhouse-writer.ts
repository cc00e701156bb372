import { ClickHouseError, type ClickHouseClient } from "@clickhouse/client";
import { TransientError } from "@costwise/stream-runtime";
import { RowRejectedError, type RowWriter } from "./process.ts";

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
