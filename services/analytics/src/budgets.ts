import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { BudgetAlert, BudgetAlertLevel } from "@costwise/schemas";
import { AnalyticsInputError } from "./errors.ts";
import { formatUsd, parseUsd, type Nano } from "./money.ts";

export const DEFAULT_BUDGETS_FILE = fileURLToPath(new URL("../config/budgets.yaml", import.meta.url));

const thresholds = z
  .array(z.number().positive().max(10))
  .min(1)
  .transform((xs) => [...new Set(xs)].sort((a, b) => a - b));

const budgetSchema = z
  .object({
    tenant: z.string().min(1),
    /** Omitted: the budget covers all of the tenant's use cases together. */
    use_case: z.string().min(1).optional(),
    /** USD per calendar month (UTC), as a decimal string or number: "2000", 1500.50. */
    monthly_usd: z.union([z.string(), z.number()]).transform((v, ctx) => {
      try {
        const nano = parseUsd(v);
        if (nano > BigInt(Number.MAX_SAFE_INTEGER)) throw new AnalyticsInputError(`monthly_usd ${v} is above the largest supported budget ($9,007,199)`);
        return nano;
      } catch (err) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
        return z.NEVER;
      }
    }),
    alert_at: thresholds.optional(),
  })
  .strict();

export const budgetsFileSchema = z
  .object({
    /** Fractions of a budget at which the projected month raises an alert (default 0.8 and 1.0). */
    alert_at: thresholds.default([0.8, 1]),
    budgets: z.array(budgetSchema).default([]),
  })
  .strict()
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.budgets.forEach((b, i) => {
      const k = budgetKey(b.tenant, b.use_case ?? null);
      if (seen.has(k)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["budgets", i], message: `duplicate budget for ${k}` });
      seen.add(k);
    });
  });

export interface Budget {
  readonly tenant: string;
  readonly useCase: string | null;
  readonly monthly: Nano;
  readonly alertAt: readonly number[];
}

export const budgetKey = (tenant: string, useCase: string | null) => (useCase === null ? tenant : `${tenant}/${useCase}`);

/** Validate a parsed budgets document; errors name the path of every bad entry. */
export function parseBudgets(doc: unknown, origin = "budgets"): Budget[] {
  const parsed = budgetsFileSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new AnalyticsInputError(`invalid ${origin}:\n${lines.join("\n")}`);
  }
  return parsed.data.budgets.map((b) => ({ tenant: b.tenant, useCase: b.use_case ?? null, monthly: b.monthly_usd, alertAt: b.alert_at ?? parsed.data.alert_at }));
}

export async function loadBudgets(file: string = DEFAULT_BUDGETS_FILE): Promise<Budget[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new AnalyticsInputError(`cannot read budgets file ${file}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new AnalyticsInputError(`budgets file ${file} is not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  return parseBudgets(doc, `budgets file ${file}`);
}

/** The calendar month (UTC) that contains `now`. */
export function monthOf(now: Date): { start: Date; end: Date; label: string } {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const end = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return { start, end, label: start.toISOString().slice(0, 7) };
}

// Before this much of the month has passed a linear projection mostly amplifies noise, so the
// elapsed time is never taken as less than it.
const MIN_ELAPSED_MS = 6 * 3_600_000;

/** Month-to-date spend extrapolated linearly to the whole month (integer nano-USD). */
export function projectMonth(spent: Nano, now: Date): Nano {
  const { start, end } = monthOf(now);
  const total = BigInt(end.getTime() - start.getTime());
  const elapsed = BigInt(Math.max(MIN_ELAPSED_MS, Math.min(now.getTime() - start.getTime(), end.getTime() - start.getTime())));
  return (spent * total) / elapsed;
}

export interface BudgetStatus {
  readonly budget: Budget;
  readonly month: string;
  readonly spent: Nano;
  readonly projected: Nano;
  /** The highest threshold the projection crossed, or null. */
  readonly crossed: number | null;
  readonly level: BudgetAlertLevel | null;
  readonly message: string;
}

/**
 * Where every budget stands this month. `spend` is month-to-date spend (cost + overhead) per
 * tenant and use case; a tenant-wide budget sums all of its use cases.
 */
export function budgetStatus(budgets: readonly Budget[], spend: readonly { tenant: string; useCase: string; spend: Nano }[], now: Date): BudgetStatus[] {
  const { label } = monthOf(now);
  return budgets.map((b) => {
    const spent = spend.filter((s) => s.tenant === b.tenant && (b.useCase === null || s.useCase === b.useCase)).reduce((a, s) => a + s.spend, 0n);
    const projected = projectMonth(spent, now);
    const crossedAll = b.alertAt.filter((t) => projected * 1_000_000n >= BigInt(Math.round(t * 1_000_000)) * b.monthly);
    const crossed = crossedAll.length > 0 ? crossedAll[crossedAll.length - 1]! : null;
    const level: BudgetAlertLevel | null = spent >= b.monthly && b.monthly > 0n ? "EXCEEDED" : crossed !== null ? "PROJECTED" : null;
    const who = budgetKey(b.tenant, b.useCase);
    const message =
      level === "EXCEEDED"
        ? `${who}: ${formatUsd(spent)} spent in ${label}, over its budget of ${formatUsd(b.monthly)}`
        : level === "PROJECTED"
          ? `${who}: projected ${formatUsd(projected)} for ${label}, ${Math.round((Number((projected * 1000n) / (b.monthly || 1n)) / 10))}% of its budget of ${formatUsd(b.monthly)} (${formatUsd(spent)} so far)`
          : `${who}: projected ${formatUsd(projected)} of ${formatUsd(b.monthly)} for ${label}`;
    return { budget: b, month: label, spent, projected, crossed, level, message };
  });
}

// Avro longs travel as JS numbers: exact up to 2^53 nano-USD ($9M), which budgets are held under.
const safe = (v: Nano): number => Number(v > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : v);

/** The alert record of a budget over a threshold; the id is the same for the same crossing. */
export function alertFor(s: BudgetStatus, now: Date): BudgetAlert | null {
  if (s.level === null) return null;
  const threshold = s.level === "EXCEEDED" ? Math.max(1, s.crossed ?? 1) : s.crossed!;
  return {
    alert_id: `${budgetKey(s.budget.tenant, s.budget.useCase)}/${s.month}/${s.level === "EXCEEDED" ? "exceeded" : threshold}`,
    tenant: s.budget.tenant,
    use_case: s.budget.useCase,
    month: s.month,
    budget_nanousd: safe(s.budget.monthly),
    spent_nanousd: safe(s.spent),
    projected_nanousd: safe(s.projected),
    threshold,
    level: s.level,
    message: s.message,
    created_at: now.getTime(),
  };
}
