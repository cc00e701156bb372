import { sql, sqlIdentifier } from "@costwise/infra";
import type { DistilledSwitch, DistillSwitchStore, FallbackInfo } from "@costwise/route-state";
import { DISTILLED_TIER } from "@costwise/route-state";
import { DistillInputError } from "./errors.ts";
import type { QueryFn } from "./export.ts";
import type { DistillPolicy } from "./policy.ts";
import type { UseCaseStatus } from "./status.ts";
import { leastUnanimousSamples, wilsonInterval } from "./wilson.ts";

export interface SwitchDeps {
  readonly policy: DistillPolicy;
  readonly switches: Pick<DistillSwitchStore, "set" | "clear">;
  /** Use cases the router's policy has: the router only applies a switch to those. */
  readonly routerUseCases: ReadonlySet<string>;
  readonly now: () => number;
}

/** The router's live shadow comparisons of a distilled route since a moment. */
export interface LiveEvidence {
  readonly decided: number;
  readonly agreed: number;
}

export interface SwitchState {
  /** The switch in force for the tenant and use case, if any. */
  readonly current: DistilledSwitch | null;
  /** Live comparisons of the switched model since the current step began (null when not switched). */
  readonly live: LiveEvidence | null;
  /** The distilled route's automatic fallback, when in force. */
  readonly fallback: FallbackInfo | null;
}

export async function fetchLiveEvidence(q: QueryFn, database: string, s: { tenant: string; useCase: string; model: string; since: Date }): Promise<LiveEvidence> {
  const [row] = await q<{ decided_n: string; agreed_n: string }>(
    sql`SELECT toString(sum(decided)) AS decided_n, toString(sum(agreed * decided)) AS agreed_n FROM ${sqlIdentifier(`${database}.route_shadow`)} FINAL
      WHERE tenant = ${s.tenant} AND use_case = ${s.useCase} AND cheap_tier = ${DISTILLED_TIER} AND cheap_model = ${s.model} AND ts >= ${s.since}`,
  );
  return { decided: Number(row?.decided_n ?? 0), agreed: Number(row?.agreed_n ?? 0) };
}

const pct = (x: number) => `${Math.round(x * 10) / 10}%`;

/**
 * Turn the router's distilled route on, or ramp it one step further, for a tenant's use case.
 * The first step needs the policy to enable it and the candidate's shadow evidence (captured
 * traffic, `distill evaluate`) to meet the use case's readiness bar. Each further step needs the
 * current step's live shadow comparisons to meet the same bar, and the route not in fallback.
 * From then on the router's shadow comparisons decide its automatic fallback, like any route.
 */
export async function switchOn(status: UseCaseStatus | undefined, tenant: string, useCase: string, deps: SwitchDeps, state: SwitchState = { current: null, live: null, fallback: null }): Promise<{ sw: DistilledSwitch; step: number; steps: number }> {
  const uc = deps.policy.useCases.get(useCase);
  if (!uc) throw new DistillInputError(`use case "${useCase}" is not in the distillation policy ${deps.policy.source}`);
  if (!uc.candidate) throw new DistillInputError(`use case "${useCase}" has no candidate model in ${deps.policy.source} and no fine-tuned model from \`costwise distill train\``);
  if (!uc.enabled) throw new DistillInputError(`use case "${useCase}" is not enabled for the switch (set enabled: true in ${deps.policy.source})`);
  if (!deps.routerUseCases.has(useCase)) {
    throw new DistillInputError(`use case "${useCase}" has no routing policy: the router only switches use cases it routes (its shadow judge and quality floor watch the distilled route)`);
  }
  if (!status || !status.ready) {
    throw new DistillInputError(`${tenant}/${useCase} is not ready for ${uc.candidate.id}: ${status ? status.reason : "no shadow comparisons yet (run costwise distill evaluate)"}`);
  }
  const steps = uc.ramp.steps;
  const cur = state.current && state.current.model === uc.candidate.id ? state.current : null;
  let share = steps[0]!;
  if (cur) {
    const at = cur.share ?? 100;
    if (state.fallback) {
      throw new DistillInputError(
        `${tenant}/${useCase} → ${cur.model} is in automatic fallback (live agreement ${state.fallback.agreement.toFixed(3)} < floor ${state.fallback.floor} over ${state.fallback.samples} comparisons): not ramping; switch --off, or wait for the route to recover`,
      );
    }
    if (at >= 100) throw new DistillInputError(`${tenant}/${useCase} already sends 100% to ${cur.model}`);
    const live = state.live ?? { decided: 0, agreed: 0 };
    const need = Math.max(uc.ramp.minLiveSamples, leastUnanimousSamples(uc.readiness.minAgreementLower));
    if (live.decided < need) {
      throw new DistillInputError(`${tenant}/${useCase} at ${pct(at)}: ${live.decided} of ${need} live shadow comparisons since the step began; not ramping yet`);
    }
    const lower = wilsonInterval(live.agreed, live.decided)!.lower;
    if (lower < uc.readiness.minAgreementLower) {
      throw new DistillInputError(`${tenant}/${useCase} at ${pct(at)}: live agreement lower bound ${lower.toFixed(3)} < ${uc.readiness.minAgreementLower} over ${live.decided} comparisons; not ramping`);
    }
    share = steps.find((s) => s > at) ?? 100;
  }
  const sw: DistilledSwitch = {
    tenant, useCase, model: uc.candidate.id, since: deps.now(), share,
    agreement: status.agreement ?? 0, lower: status.interval?.lower ?? 0, samples: status.decided,
  };
  await deps.switches.set(sw);
  return { sw, step: steps.indexOf(share) + 1 || steps.length, steps: steps.length };
}

/** Turn the distilled route off: the use case goes back to its usual routing at the router's next refresh. */
export async function switchOff(tenant: string, useCase: string, deps: Pick<SwitchDeps, "switches">): Promise<boolean> {
  return deps.switches.clear(tenant, useCase);
}
