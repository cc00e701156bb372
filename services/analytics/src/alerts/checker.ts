import type { BudgetAlert } from "@costwise/schemas";
import type { Logger } from "@costwise/stream-runtime";
import { alertFor, budgetStatus, monthOf, type Budget, type BudgetStatus } from "../budgets.ts";
import type { Nano } from "../money.ts";

export interface AlertCheckerDeps {
  /** Month-to-date spend (cost + overhead) per tenant and use case. */
  readonly spend: (monthStart: Date, until: Date) => Promise<readonly { tenant: string; useCase: string; spend: Nano }[]>;
  readonly budgets: () => Promise<readonly Budget[]>;
  /** Resolves once the alerts are durably on the topic. */
  readonly publish: (alerts: readonly BudgetAlert[]) => Promise<void>;
  readonly now: () => Date;
  readonly logger: Logger;
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
      const [budgets, spend] = await Promise.all([deps.budgets(), deps.spend(month.start, new Date(now.getTime() + 1000))]);
      const statuses = budgetStatus(budgets, spend, now);
      const fresh = statuses.map((s) => alertFor(s, now)).filter((a): a is BudgetAlert => a !== null && !sent.has(a.alert_id));
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
