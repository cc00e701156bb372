export { clickhouseWriter, insertIsolating, RowRejectedError, type Rejected, type RowWriter } from "./writer.ts";
export { coalescingWriter, type CoalescingOptions } from "./coalescing.ts";
export { callRow, responseRow, distillSampleRow, outcomeRow, chDateTime, TABLES } from "./rows.ts";
