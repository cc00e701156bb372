import type { ClickHouseClient } from "@clickhouse/client";
import { clickhouseWriter, insertIsolating, type Rejected } from "@costwise/clickhouse-writer";
import { SHADOW_TABLES, type FallbackEventRow, type ShadowRow } from "./rows.ts";

/**
 * Where shadow results go. Rows are idempotent by request_id (ReplacingMergeTree). An outage
 * throws (the input is retried); rows ClickHouse refuses come back, for their inputs to be
 * dead-lettered, so a bad row never stalls the shadow consumer's partition.
 */
export interface ShadowWriter {
  comparisons(rows: readonly ShadowRow[]): Promise<readonly Rejected<ShadowRow>[]>;
  fallbackEvents(rows: readonly FallbackEventRow[]): Promise<readonly Rejected<FallbackEventRow>[]>;
}

export function clickhouseShadowWriter(client: ClickHouseClient, database: string): ShadowWriter {
  const writer = clickhouseWriter(client, database);
  return {
    comparisons: (rows) => insertIsolating(writer, SHADOW_TABLES.comparisons, rows, (r) => r),
    fallbackEvents: (rows) => insertIsolating(writer, SHADOW_TABLES.fallbackEvents, rows, (r) => r),
  };
}
