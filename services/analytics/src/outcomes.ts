import { sql, sqlIdentifier } from "@costwise/infra";
import type { PathOutcomes } from "@costwise/outcomes";
import type { Filters } from "./filters.ts";
import { toNano, type Nano } from "./money.ts";
import { tableExists, type QueryFn, type Scope } from "./queries.ts";
import { grainWindow } from "./source.ts";

/**
 * Outcome figures, from the `outcome_calls` view (migration 0014): calls that have an outcome,
 * with the outcome that counts (latest per source, user beats task beats judge). Always exact
 * (the view reads llm_calls FINAL). Cost per successful outcome = what the judged calls cost
 * (overhead before and after the response included) / how many succeeded; the naive counterpart
 * divides their baseline by the same successes.
 */
export interface OutcomeFigures {
  /** Calls with an outcome. */
  readonly outcomes: number;
  readonly successes: number;
  readonly successRate: number | null;
  readonly spend: Nano;
  readonly baseline: Nano;
  readonly costPerSuccess: Nano | null;
  readonly naiveCostPerSuccess: Nano | null;
}

export interface UseCaseOutcomes extends OutcomeFigures {
  readonly tenant: string;
  readonly useCase: string;
}

export interface TechniqueOutcomes extends OutcomeFigures {
  readonly useCase: string;
  /** cache_exact, cache_semantic or route:<tier>. */
  readonly technique: string;
}

type Int = string | number;
interface Raw { outcomes: Int; successes: Int; spend: Int; baseline: Int }

export function figuresOf(r: Raw): OutcomeFigures {
  const outcomes = Number(r.outcomes);
  const successes = Number(r.successes);
  const spend = toNano(r.spend);
  const baseline = toNano(r.baseline);
  return {
    outcomes, successes, successRate: outcomes ? successes / outcomes : null, spend, baseline,
    costPerSuccess: successes ? spend / BigInt(successes) : null,
    naiveCostPerSuccess: successes ? baseline / BigInt(successes) : null,
  };
}

export const NO_OUTCOMES: OutcomeFigures = figuresOf({ outcomes: 0, successes: 0, spend: 0, baseline: 0 });

const SELECT = "count() AS outcomes, sum(succeeded) AS successes, sum(call_spend_nanousd) AS spend, sum(call_baseline_nanousd) AS baseline";

/** The view restricted to a window (by request time) and the filters' tenant and use case. */
function outcomeSource(database: string, f: Filters, start: Date, end: Date): string {
  const where = [sql`ts >= ${start} AND ts < ${end}`];
  if (f.tenant !== undefined) where.push(sql`tenant = ${f.tenant}`);
  if (f.useCase !== undefined) where.push(sql`use_case = ${f.useCase}`);
  return `(SELECT * FROM ${sqlIdentifier(`${database}.outcome_calls`).text} WHERE ${where.join(" AND ")})`;
}

/** Installations migrated before outcomes existed have no view: no outcome figures, never an error. */
async function available(q: QueryFn, database: string): Promise<boolean> {
  return tableExists(q, database, "outcome_calls");
}

/** Per tenant and use case over the report's window (whole grains, as the other figures). */
export async function useCaseOutcomes(q: QueryFn, s: Scope): Promise<UseCaseOutcomes[]> {
  if (!(await available(q, s.database))) return [];
  const { start, end } = grainWindow(s.filters, s.grain);
  const rows = await q<Raw & { tenant: string; use_case: string }>(
    `SELECT tenant, use_case, ${SELECT} FROM ${outcomeSource(s.database, s.filters, start, end)} GROUP BY tenant, use_case ORDER BY tenant, use_case`,
  );
  return rows.map((r) => ({ tenant: r.tenant, useCase: r.use_case, ...figuresOf(r) }));
}

/** Per use case and technique (success by technique), over the report's window. */
export async function techniqueOutcomes(q: QueryFn, s: Scope): Promise<TechniqueOutcomes[]> {
  if (!(await available(q, s.database))) return [];
  const { start, end } = grainWindow(s.filters, s.grain);
  const rows = await q<Raw & { use_case: string; technique: string }>(
    `SELECT use_case, technique, ${SELECT} FROM ${outcomeSource(s.database, s.filters, start, end)} GROUP BY use_case, technique ORDER BY use_case, technique`,
  );
  return rows.map((r) => ({ useCase: r.use_case, technique: r.technique, ...figuresOf(r) }));
}

/** Successes and outcomes per use case and serving path in [since, until), every tenant: the regression checker's input. */
export async function pathOutcomes(q: QueryFn, database: string, since: Date, until: Date): Promise<PathOutcomes[]> {
  if (!(await available(q, database))) return [];
  const rows = await q<{ use_case: string; technique: string; outcomes: Int; successes: Int }>(
    `SELECT use_case, technique, count() AS outcomes, sum(succeeded) AS successes FROM ${outcomeSource(database, { since, until }, since, until)} GROUP BY use_case, technique ORDER BY use_case, technique`,
  );
  return rows.map((r) => ({ useCase: r.use_case, path: r.technique, successes: Number(r.successes), trials: Number(r.outcomes) }));
}

/** The same figures summed (the report's total row). */
export function sumOutcomes(rows: readonly OutcomeFigures[]): OutcomeFigures {
  const t = rows.reduce((a, r) => ({ outcomes: a.outcomes + r.outcomes, successes: a.successes + r.successes, spend: a.spend + r.spend, baseline: a.baseline + r.baseline }), { outcomes: 0, successes: 0, spend: 0n, baseline: 0n });
  return figuresOf({ outcomes: t.outcomes, successes: t.successes, spend: t.spend.toString(), baseline: t.baseline.toString() });
}

/** A technique backed off for a use case after a quality regression (outcome_backoffs, written by the alerts service). */
export interface BackoffRow {
  readonly useCase: string;
  readonly technique: string;
  /** ISO times. */
  readonly since: string;
  readonly until: string;
  readonly successRate: number;
  readonly baselineRate: number;
  readonly samples: number;
  readonly pValue: number;
  readonly reason: string;
}

/** The backoffs in force at `now` (latest decision per use case and technique), filtered by the scope's use case. */
export async function activeBackoffs(q: QueryFn, database: string, now: Date, useCase?: string): Promise<BackoffRow[]> {
  if (!(await tableExists(q, database, "outcome_backoffs"))) return [];
  const where = useCase === undefined ? "" : sql` WHERE use_case = ${useCase}`;
  // Output names differ from the columns: ClickHouse would otherwise read an alias into its own aggregate.
  const rows = await q<{ use_case: string; technique: string; since_at: string; until_at: string; rate: number; base_rate: number; n: Int; p: number; why: string }>(
    `SELECT use_case, technique, argMax(since, ts) AS since_at, max(until) AS until_at, argMax(success_rate, ts) AS rate, argMax(baseline_rate, ts) AS base_rate,
        argMax(samples, ts) AS n, argMax(p_value, ts) AS p, argMax(reason, ts) AS why
      FROM ${sqlIdentifier(`${database}.outcome_backoffs`).text}${where}
      GROUP BY use_case, technique HAVING ${sql`until_at > ${now}`} ORDER BY use_case, technique`,
  );
  const iso = (t: string) => `${t.replace(" ", "T")}Z`;
  return rows.map((r) => ({
    useCase: r.use_case, technique: r.technique, since: iso(r.since_at), until: iso(r.until_at), successRate: Number(r.rate), baselineRate: Number(r.base_rate),
    samples: Number(r.n), pValue: Number(r.p), reason: r.why,
  }));
}
