import type { ClickHouseClient } from "@clickhouse/client";
import { TransientError } from "@costwise/stream-runtime";
import { SHADOW_TABLES, type FallbackEventRow, type ShadowRow } from "./rows.ts";

/** Where shadow results go. Rows are idempotent by request_id (ReplacingMergeTree). */
export interface ShadowWriter {
  comparisons(rows: readonly ShadowRow[]): Promise<void>;
  fallbackEvents(rows: readonly FallbackEventRow[]): Promise<void>;
}

export function clickhouseShadowWriter(client: ClickHouseClient, database: string): ShadowWriter {
  const insert = async (table: string, rows: readonly object[]) => {
    if (rows.length === 0) return;
    try {
      await client.insert({ table: `${database}.${table}`, values: rows as object[], format: "JSONEachRow" });
    } catch (err) {
      // Every row is built here from typed values; a failure is ClickHouse being away, so retry.
      throw new TransientError(`ClickHouse insert into ${table} failed: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    comparisons: (rows) => insert(SHADOW_TABLES.comparisons, rows),
    fallbackEvents: (rows) => insert(SHADOW_TABLES.fallbackEvents, rows),
  };
}
