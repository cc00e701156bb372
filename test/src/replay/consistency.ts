import type { LlmResponse } from "@costwise/schemas";
import type { CallRow } from "./aggregate.ts";
import type { Grade } from "./grade.ts";

export class ReplayError extends Error {
  override readonly name = "ReplayError";
}

export const listIds = (ids: readonly string[]): string => `${ids.slice(0, 20).join(", ")}${ids.length > 20 ? `, … (${ids.length - 20} more)` : ""}`;

/** Requests without a response: the pipeline lost them. */
export function checkAnswered(ids: readonly string[], got: ReadonlyMap<string, LlmResponse>): void {
  const missing = ids.filter((id) => !got.has(id));
  if (missing.length > 0) throw new ReplayError(`the pipeline lost ${missing.length} of ${ids.length} requests (no response): ${listIds(missing)}`);
}

/**
 * A run is reported only when every request has exactly one answer and one cost record that agree.
 * Stages of another pipeline on the shared topics (other consumer groups) duplicate requests
 * part-way, and a shared emulator answers with text that is no recorded answer.
 */
export function checkConsistent(run: {
  ids: readonly string[];
  got: ReadonlyMap<string, LlmResponse>;
  answerCounts: ReadonlyMap<string, number>;
  calls: ReadonlyMap<string, CallRow>;
  grades: ReadonlyMap<string, Grade>;
  database: string;
}): void {
  checkAnswered(run.ids, run.got);
  const noRecord = run.ids.filter((id) => !run.calls.has(id));
  if (noRecord.length > 0) throw new ReplayError(`${noRecord.length} of ${run.ids.length} requests have no cost record in ${run.database}.llm_calls: ${listIds(noRecord)}`);
  const twice = run.ids.filter((id) => (run.answerCounts.get(id) ?? 0) > 1);
  const mismatched = run.ids.filter((id) => {
    const r = run.got.get(id)!;
    const c = run.calls.get(id)!;
    return r.status === "OK" && !c.served_by.startsWith("CACHE") && r.model !== c.model_used;
  });
  if (twice.length > 0 || mismatched.length > 0) {
    throw new ReplayError(
      `inconsistent run: ${twice.length} requests answered more than once, ${mismatched.length} whose response and cost record name different models ` +
        `(another pipeline is consuming the shared topics?); re-run: ${listIds([...new Set([...twice, ...mismatched])])}`,
    );
  }
  const foreign = run.ids.filter((id) => run.grades.get(id)?.recognised === false);
  if (foreign.length > 0) {
    throw new ReplayError(`${foreign.length} responses are not answers of this replay's emulator (another pipeline on the shared topics answered them?); re-run: ${listIds(foreign)}`);
  }
}
