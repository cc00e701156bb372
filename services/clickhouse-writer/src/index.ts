export { clickhouseWriter, insertIsolating, RowRejectedError, type Rejected, type RowWriter } from "./writer.ts";
export { callRow, responseRow, distillSampleRow, chDateTime, TABLES } from "./rows.ts";
