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
const OPENAI_JAN_2027 = "secondary copies of OpenAI's deprecations page that agree on the date (codersera.com 'gpt-4o / gpt-4.1 API shutdown', dev.to 'OpenAI API deprecations 2026-2027', CometAPI notice 2026-10-14); the replacement differs between them (gpt-6-luna or gpt-6.1-sol), so none is recorded";
const OPENAI_OCT_2026 = "dev.to 'Every OpenAI model shutdown date until January 2027' (copy of OpenAI's deprecations page as of 2026-10-15); the earlier pricing check saw gpt-4.1-nano as shut down on OpenAI's pages";

/** By catalog id. A model absent from this table has no known lifecycle dates. */
export const LIFECYCLE: Readonly<Record<string, ModelLifecycle>> = {
  "gpt-5": { deprecatedOn: "2026-06-11", retiresOn: "2026-12-11", successor: "gpt-6.1-sol", source: `${OPENAI_DEPRECATIONS} (upcoming deprecations table)`, checked: CHECKED },
  "gpt-5-mini": { deprecatedOn: "2026-06-11", retiresOn: "2026-12-11", successor: "gpt-6.1-terra", source: `${OPENAI_DEPRECATIONS} (upcoming deprecations table)`, checked: CHECKED },
  "gpt-5-nano": { deprecatedOn: "2026-06-11", retiresOn: "2026-12-11", successor: null, source: `${OPENAI_DEPRECATIONS} (upcoming deprecations table; the replacement was cut off in the copy read)`, checked: CHECKED },
  o3: { deprecatedOn: null, retiresOn: "2026-12-11", successor: null, source: "dev.to 'OpenAI API deprecations 2026-2027' (copy of OpenAI's deprecations page); replacement differs between copies", checked: CHECKED },
  "gpt-4o": { deprecatedOn: "2026-10-14", retiresOn: "2027-01-14", successor: null, source: OPENAI_JAN_2027, checked: CHECKED },
  "gpt-4o-mini": { deprecatedOn: "2026-10-14", retiresOn: "2027-01-14", successor: null, source: OPENAI_JAN_2027, checked: CHECKED },
  "gpt-4.1": { deprecatedOn: "2026-10-14", retiresOn: "2027-01-14", successor: null, source: OPENAI_JAN_2027, checked: CHECKED },
  "gpt-4.1-mini": { deprecatedOn: "2026-10-14", retiresOn: "2027-01-14", successor: null, source: OPENAI_JAN_2027, checked: CHECKED },
  "gpt-4.1-nano": { deprecatedOn: null, retiresOn: "2026-10-23", successor: null, source: OPENAI_OCT_2026, checked: CHECKED },
  "o4-mini": { deprecatedOn: null, retiresOn: "2026-10-23", successor: "gpt-5.6-terra", source: OPENAI_OCT_2026, checked: CHECKED },
  "claude-sonnet-4": { deprecatedOn: "2026-04-14", retiresOn: "2026-06-15", successor: "claude-sonnet-4-6", source: "Anthropic release notes (platform.claude.com/docs/en/release-notes/overview) as summarised by ottto-ai/ai-provider-watch event 2026-06-15; totalum.app and dev.to agree", checked: CHECKED },
  "claude-opus-4-1": { deprecatedOn: null, retiresOn: "2026-08-05", successor: null, source: "totalum.app 'Claude 4 deprecation' (2026-06-15); dev.to quotes Anthropic's table as 'not sooner than 2026-08-05'; the earlier pricing check saw it retired on the Claude API", checked: CHECKED },
  // Deprecated (several sources; replacement claude-sonnet-4-6) but the retirement date could not be
  // sourced: copies disagree (2026-09-29 on Retell's notice, 2026-11-30 in this package's earlier check)
  // and Anthropic's own table did not render in the index.
  "claude-sonnet-4-5": { deprecatedOn: null, retiresOn: null, successor: "claude-sonnet-4-6", source: "aiproductivity.ai 'Anthropic retiring Claude Sonnet 4.5'; docs.retellai.com deprecation notice 2026-09-29; retirement date unconfirmed", checked: CHECKED },
};

export type LifecycleStatus = "active" | "deprecated" | "retired";

/** A model's status on a date (ISO yyyy-mm-dd), by id or alias. Unknown models and unknown dates count as active. */
export function lifecycleStatus(catalog: PriceCatalog, model: string, onDate: string): { status: LifecycleStatus; lifecycle: ModelLifecycle | null } {
  const id = findModel(catalog, model)?.id ?? model;
  const lc = LIFECYCLE[id] ?? null;
  if (!lc) return { status: "active", lifecycle: null };
  if (lc.retiresOn !== null && onDate >= lc.retiresOn) return { status: "retired", lifecycle: lc };
  if (lc.retiresOn !== null || lc.deprecatedOn !== null || lc.successor !== null) return { status: "deprecated", lifecycle: lc };
  return { status: "active", lifecycle: lc };
}

/** The successor that serves a retired model's requests, when the provider names one this catalog can price. */
export function servedSuccessor(catalog: PriceCatalog, model: string, onDate: string): string | null {
  const { status, lifecycle } = lifecycleStatus(catalog, model, onDate);
  if (status !== "retired" || !lifecycle?.successor) return null;
  return findModel(catalog, lifecycle.successor)?.id ?? null;
}

export const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
