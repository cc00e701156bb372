export { clickhouseWriter, insertIsolating, RowRejectedError, type Rejected, type RowWriter } from "./writer.ts";
export { callRow, responseRow, distillSampleRow, outcomeRow, chDateTime, TABLES } from "./rows.ts";
