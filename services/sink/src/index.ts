export { createSinkProcess, RowRejectedError, TABLES, type RowWriter } from "./process.ts";
export { clickhouseWriter } from "./clickhouse-writer.ts";
export { callRow, responseRow, distillSampleRow, chDateTime } from "./rows.ts";
export { loadSinkConfig, sinkConfigSchema, type SinkConfig } from "./config.ts";
