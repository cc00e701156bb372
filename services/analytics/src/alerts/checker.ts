import type { BudgetAlert } from "@costwise/schemas";
import type { Logger } from "@costwise/stream-runtime";
import { alertFor, budgetStatus, monthOf, type Budget, type BudgetStatus } from "../budgets.ts";
import type { Nano } from "../money.ts";

export interface AlertCheckerDeps {
  /** Month-to-date spend (cost + overhead) per tenant and use case. */
  readonly spend: (monthStart: Date, until: Date) => Promise<readonly { tenant: string; useCase: string; spend: Nano }[]>;
  readonly budgets: () => Promise<readonly Budget[]>;
  /** Month-to-date calls to models without a catalog price, per tenant, use case and model. */
  readonly unpriced?: (monthStart: Date, until: Date) => Promise<readonly UnpricedUsage[]>;
  /** Resolves once the alerts are durably on the topic. */
  readonly publish: (alerts: readonly BudgetAlert[]) => Promise<void>;
  readonly now: () => Date;
  readonly logger: Logger;
}

export interface UnpricedUsage {
  readonly tenant: string;
  readonly useCase: string;
  readonly model: string;
  readonly calls: number;
  readonly tokens: number;
}

/** One alert per tenant, use case, month and unpriced model: its spend is invisible to every budget. */
export function unpricedAlert(u: UnpricedUsage, month: string, now: Date): BudgetAlert {
  return {
    alert_id: `${u.tenant}/${u.useCase}/${month}/unpriced/${u.model}`,
    tenant: u.tenant,
    use_case: u.useCase,
    month,
    budget_nanousd: 0,
    spent_nanousd: 0,
    projected_nanousd: 0,
    threshold: 0,
    level: "UNPRICED",
    message:
      `${u.calls} call(s) to ${u.model} (${u.tokens} tokens) in ${month} have no catalog price, so no budget counts them: ` +
      `add the model to the price catalog (or set UNPRICED_MODELS=reject)`,
    created_at: now.getTime(),
  };
}

export interface CheckResult {
  readonly statuses: readonly BudgetStatus[];
  /** Alerts produced by this check (crossings not produced before by this process). */
  readonly produced: readonly BudgetAlert[];
}

/**
 * One budget check: project every budget's month and produce an alert for each new crossing.
 * A crossing is produced once per process (its alert_id is stable, so a restart that produces it
 * again is recognisable downstream); a publish failure leaves it pending for the next check.
 */
export function createAlertChecker(deps: AlertCheckerDeps): { check(): Promise<CheckResult> } {
  const sent = new Set<string>();
  return {
    async check() {
      const now = deps.now();
      const month = monthOf(now);
      const until = new Date(now.getTime() + 1000);
      const [budgets, spend, unpriced] = await Promise.all([deps.budgets(), deps.spend(month.start, until), deps.unpriced?.(month.start, until) ?? []]);
      const statuses = budgetStatus(budgets, spend, now);
      const candidates = [...statuses.map((s) => alertFor(s, now)), ...unpriced.map((u) => unpricedAlert(u, month.label, now))];
      const fresh = candidates.filter((a): a is BudgetAlert => a !== null && !sent.has(a.alert_id));
      if (fresh.length > 0) {
        await deps.publish(fresh);
        for (const a of fresh) {
          sent.add(a.alert_id);
          deps.logger.warn({ alert_id: a.alert_id, level: a.level, tenant: a.tenant, use_case: a.use_case }, a.message);
        }
      }
      return { statuses, produced: fresh };
    },
  };
}
