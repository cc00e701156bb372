import { readFileSync } from "node:fs";
import avro from "avsc";
import type { RecordName } from "./types.ts";

const files: Record<RecordName, string> = {
  LlmRequest: "llm-request.avsc",
  LlmResponse: "llm-response.avsc",
  CostRecord: "cost-record.avsc",
  BudgetAlert: "budget-alert.avsc",
  DistillSample: "distill-sample.avsc",
  CacheVerification: "cache-verification.avsc",
  LlmOutcome: "llm-outcome.avsc",
};

function load(file: string): object {
  return JSON.parse(readFileSync(new URL(`../avro/${file}`, import.meta.url), "utf8")) as object;
}

/** The current (reader) schema of each record, as JSON. */
export const avroSchemas: Record<RecordName, object> = {
  LlmRequest: load(files.LlmRequest),
  LlmResponse: load(files.LlmResponse),
  CostRecord: load(files.CostRecord),
  BudgetAlert: load(files.BudgetAlert),
  DistillSample: load(files.DistillSample),
  CacheVerification: load(files.CacheVerification),
  LlmOutcome: load(files.LlmOutcome),
};

/** Older published versions, oldest first, kept to prove that current readers still read them. */
export const avroHistory: Partial<Record<RecordName, object[]>> = {
  LlmRequest: [load("history/llm-request.v1.avsc"), load("history/llm-request.v2.avsc"), load("history/llm-request.v3.avsc"), load("history/llm-request.v4.avsc")],
  LlmResponse: [load("history/llm-response.v1.avsc")],
  CostRecord: [load("history/cost-record.v1.avsc"), load("history/cost-record.v2.avsc")],
  BudgetAlert: [load("history/budget-alert.v1.avsc")],
  CacheVerification: [load("history/cache-verification.v1.avsc")],
};

const typeCache = new Map<RecordName, avro.Type>();
export function avroType(name: RecordName): avro.Type {
  let t = typeCache.get(name);
  if (!t) {
    t = avro.Type.forSchema(avroSchemas[name] as avro.Schema);
    typeCache.set(name, t);
  }
  return t;
}
