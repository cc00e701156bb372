import { NOT_IN_CONTEXT, outcomeText, readerAnswer, statedIntent } from "@costwise/emulator";
import type { LlmResponse } from "@costwise/schemas";
import { routerOutcomes, type ReplayItem } from "./workload.ts";

export interface Grade {
  /** Normalised quality of the answer the caller got, 0..1. */
  readonly grade: number;
  /**
   * False when the text is none of the answers the replay's emulator gives: the request was
   * answered by something else (another pipeline on the shared topics, a stale cache entry).
   */
  readonly recognised: boolean;
}

/** Every answer text the replay's emulator can give for router rows: a cached one may be served to another row. */
export function knownRouterTexts(items: readonly ReplayItem[]): Set<string> {
  const out = new Set<string>();
  for (const item of items) {
    if (item.truth.kind !== "router") continue;
    out.add(outcomeText(item.truth.id, "strong", item.truth.strong));
    out.add(outcomeText(item.truth.id, "weak", item.truth.weak));
  }
  return out;
}

/**
 * Grades a response from the data, the way the caller would receive it: the text is all that
 * counts, whichever stage produced it (a cache hit carries another request's answer).
 */
export function gradeResponse(item: ReplayItem, response: LlmResponse, routerTexts: ReadonlySet<string>): Grade {
  if (response.status !== "OK" || response.content === null) return { grade: 0, recognised: true };
  const text = response.content;
  const t = item.truth;
  switch (t.kind) {
    case "router": {
      if (item.source.kind !== "router") throw new Error(`item ${item.id}: router truth on a ${item.source.kind} row`);
      const outcomes = routerOutcomes(item.source.row, item.source.file);
      if (text === outcomeText(t.id, "strong", t.strong)) return { grade: outcomes.strong.grade, recognised: true };
      if (text === outcomeText(t.id, "weak", t.weak)) return { grade: outcomes.weak.grade, recognised: true };
      return { grade: 0, recognised: routerTexts.has(text) };
    }
    case "cache": {
      const stated = statedIntent(text);
      if (stated === null) return { grade: 0, recognised: false };
      const right = t.oos ? "oosId" in stated && stated.oosId === t.id : "intent" in stated && stated.intent === t.intent;
      return { grade: right ? 1 : 0, recognised: true };
    }
    case "compress": {
      if (t.answers.some((a) => text === readerAnswer(a))) return { grade: 1, recognised: true };
      return { grade: 0, recognised: text === NOT_IN_CONTEXT || text.startsWith(readerAnswer("").slice(0, -1)) };
    }
  }
}
