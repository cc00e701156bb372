import { ClickHouseLogLevel, createClient, type ClickHouseClient } from "@clickhouse/client";
import type { ClickhouseConfig } from "./config.ts";

/**
 * A client for analytics queries. The client's own logger is off: failed queries reject with the
 * server's message, which the CLI prints and the services log through pino.
 */
export function analyticsClient(c: Pick<ClickhouseConfig, "CLICKHOUSE_URL" | "CLICKHOUSE_USER" | "CLICKHOUSE_PASSWORD">): ClickHouseClient {
  return createClient({ url: c.CLICKHOUSE_URL, username: c.CLICKHOUSE_USER, password: c.CLICKHOUSE_PASSWORD, request_timeout: 120_000, log: { level: ClickHouseLogLevel.OFF } });
}
