import { findModel } from "./catalog.ts";
import type { PriceCatalog } from "./types.ts";

/**
 * When each catalog model stops being served, so policies never name a model that no longer
 * answers and a caller's retired model can be moved to its successor. Dates are the provider's
 * API (not Bedrock / Vertex, which keep their own schedules). A null date means no source could
 * be found: not "never".
 */
export interface ModelLifecycle {
  /** ISO date the deprecation was announced (the model still answers), or null when unknown. */
  readonly deprecatedOn: string | null;
  /** ISO date requests start failing (OpenAI "shutdown", Anthropic "retirement"), or null when unknown. */
  readonly retiresOn: string | null;
  /** The provider's recommended replacement, when one is named (it may not be in this catalog yet). */
  readonly successor: string | null;
  /** Where the dates come from, and how sure they are. */
  readonly source: string;
  /** ISO date the source was read. */
  readonly checked: string;
}

const CHECKED = "2026-12-02";
const OPENAI_DEPRECATIONS = "https://developers.openai.com/api/docs/deprecations";
const OPENAI_JUN_2026 = `${OPENAI_DEPRECATIONS} ("2026-06-11: GPT-5 and o3 model deprecations", upcoming deprecations table)`;
const OPENAI_OCT_2026 = `${OPENAI_DEPRECATIONS} ("2026-10-14: GPT-4 series deprecations": all four replaced by gpt-6-luna), read in a translated copy of the page (w3cschool.cn) and in dev.to 'OpenAI API deprecations 2026-2027', which compared it with GET /v1/models shutdown_date`;
const OPENAI_OCT_23 = "dev.to 'Every OpenAI model shutdown date until January 2027' (copy of OpenAI's deprecations page as of 2026-10-15); the earlier pricing check saw gpt-4.1-nano as shut down on OpenAI's pages";

/** By catalog id. A model absent from this table has no known lifecycle dates. */
export const LIFECYCLE: Readonly<Record<string, ModelLifecycle>> = {
  // OpenAI's own table names the gpt-5 and gpt-5-mini replacements; the gpt-5-nano and o3 cells were
  // cut off in every copy of the current page read (an older copy named gpt-5.6-luna / gpt-5.6-sol,
  // since replaced on the page for gpt-5 and gpt-5-mini), so none is recorded for them.
  "gpt-5": { deprecatedOn: "2026-06-11", retiresOn: "2026-12-11", successor: "gpt-6.1-sol", source: OPENAI_JUN_2026, checked: CHECKED },
  "gpt-5-mini": { deprecatedOn: "2026-06-11", retiresOn: "2026-12-11", successor: "gpt-6.1-terra", source: OPENAI_JUN_2026, checked: CHECKED },
  "gpt-5-nano": { deprecatedOn: "2026-06-11", retiresOn: "2026-12-11", successor: null, source: `${OPENAI_JUN_2026}; the replacement cell was cut off in the copies read`, checked: CHECKED },
  o3: { deprecatedOn: "2026-06-11", retiresOn: "2026-12-11", successor: null, source: `${OPENAI_JUN_2026}; privatedevops.com 'OpenAI retires GPT-5 and o3 snapshots' agrees on the date`, checked: CHECKED },
  "gpt-4o": { deprecatedOn: "2026-10-14", retiresOn: "2027-01-14", successor: "gpt-6-luna", source: OPENAI_OCT_2026, checked: CHECKED },
  "gpt-4o-mini": { deprecatedOn: "2026-10-14", retiresOn: "2027-01-14", successor: "gpt-6-luna", source: OPENAI_OCT_2026, checked: CHECKED },
  "gpt-4.1": { deprecatedOn: "2026-10-14", retiresOn: "2027-01-14", successor: "gpt-6-luna", source: OPENAI_OCT_2026, checked: CHECKED },
  "gpt-4.1-mini": { deprecatedOn: "2026-10-14", retiresOn: "2027-01-14", successor: "gpt-6-luna", source: OPENAI_OCT_2026, checked: CHECKED },
  "gpt-4.1-nano": { deprecatedOn: null, retiresOn: "2026-10-23", successor: null, source: OPENAI_OCT_23, checked: CHECKED },
  "o4-mini": { deprecatedOn: null, retiresOn: "2026-10-23", successor: "gpt-5.6-terra", source: OPENAI_OCT_23, checked: CHECKED },
  "claude-sonnet-4": { deprecatedOn: "2026-04-14", retiresOn: "2026-06-15", successor: "claude-sonnet-4-6", source: "Anthropic release notes (platform.claude.com/docs/en/release-notes/overview) as summarised by ottto-ai/ai-provider-watch event 2026-06-15; totalum.app and dev.to agree", checked: CHECKED },
  "claude-opus-4-1": { deprecatedOn: null, retiresOn: "2026-08-05", successor: null, source: "totalum.app 'Claude 4 deprecation' (2026-06-15); multidotdev/cli v0.0.135 release notes ('retired by Anthropic on August 5, 2026'); the Claude pricing page lists Opus 4.1 as retired", checked: CHECKED },
  // Anthropic's own Sonnet 4.5 page: deprecated, retires 2026-11-30, replacement Claude Sonnet 5.5.
  // (Retell's 2026-09-29 is Retell's own migration date, not Anthropic's.)
  "claude-sonnet-4-5": { deprecatedOn: null, retiresOn: "2026-11-30", successor: "claude-sonnet-5-5", source: "platform.claude.com/docs/<lang>/models/sonnet-4-5/overview ('deprecated … retires on November 30, 2026. Recommended replacement: Claude Sonnet 5.5'); deprecation date not shown", checked: CHECKED },
  "claude-opus-4-5": { deprecatedOn: "2026-11-23", retiresOn: "2027-01-22", successor: "claude-opus-5-5", source: "Anthropic's model status table as read by samarthputhraya/Modelpin v0.5.7 (2026-11-26): deprecated 2026-11-23, tentative retirement 2027-01-22, replacement claude-opus-5-5", checked: CHECKED },
};

export type LifecycleStatus = "active" | "deprecated" | "retired";

/** A model's status on a date (ISO yyyy-mm-dd), by id or alias. Unknown models and unknown dates count as active. */
export function lifecycleStatus(catalog: PriceCatalog, model: string, onDate: string, table: Readonly<Record<string, ModelLifecycle>> = LIFECYCLE): { status: LifecycleStatus; lifecycle: ModelLifecycle | null } {
  const id = findModel(catalog, model)?.id ?? model;
  const lc = table[id] ?? null;
  if (!lc) return { status: "active", lifecycle: null };
  if (lc.retiresOn !== null && onDate >= lc.retiresOn) return { status: "retired", lifecycle: lc };
  if (lc.retiresOn !== null || lc.deprecatedOn !== null || lc.successor !== null) return { status: "deprecated", lifecycle: lc };
  return { status: "active", lifecycle: lc };
}

/**
 * The model that serves a retired model's requests: its documented successor when this catalog
 * can price it, followed along the chain while the successor has itself retired. null when the
 * model is not retired, or no priced, served successor is documented.
 */
export function servedSuccessor(catalog: PriceCatalog, model: string, onDate: string, table: Readonly<Record<string, ModelLifecycle>> = LIFECYCLE): string | null {
  let current = model;
  const seen = new Set<string>();
  for (;;) {
    const { status, lifecycle } = lifecycleStatus(catalog, current, onDate, table);
    if (status !== "retired") return current === model ? null : (findModel(catalog, current)?.id ?? null);
    const next = lifecycle?.successor ? findModel(catalog, lifecycle.successor)?.id : undefined;
    if (!next || seen.has(next)) return null;
    seen.add(next);
    current = next;
  }
}

export const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
