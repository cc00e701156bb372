import type { DistilledSwitch, DistillSwitchStore } from "@costwise/route-state";
import { DistillInputError } from "./errors.ts";
import type { DistillPolicy } from "./policy.ts";
import type { UseCaseStatus } from "./status.ts";

export interface SwitchDeps {
  readonly policy: DistillPolicy;
  readonly switches: Pick<DistillSwitchStore, "set" | "clear">;
  /** Use cases the router's policy has: the router only applies a switch to those. */
  readonly routerUseCases: ReadonlySet<string>;
  readonly now: () => number;
}

/**
 * Turn the router's distilled route on for a tenant's use case — only when the policy enables it
 * and its status meets the readiness bar. From then on the router's shadow comparisons of the
 * distilled route decide its automatic fallback, like any other route.
 */
export async function switchOn(status: UseCaseStatus | undefined, tenant: string, useCase: string, deps: SwitchDeps): Promise<DistilledSwitch> {
  const uc = deps.policy.useCases.get(useCase);
  if (!uc) throw new DistillInputError(`use case "${useCase}" is not in the distillation policy ${deps.policy.source}`);
  if (!uc.candidate) throw new DistillInputError(`use case "${useCase}" has no candidate model in ${deps.policy.source}`);
  if (!uc.enabled) throw new DistillInputError(`use case "${useCase}" is not enabled for the switch (set enabled: true in ${deps.policy.source})`);
  if (!deps.routerUseCases.has(useCase)) {
    throw new DistillInputError(`use case "${useCase}" has no routing policy: the router only switches use cases it routes (its shadow judge and quality floor watch the distilled route)`);
  }
  if (!status || !status.ready) {
    throw new DistillInputError(`${tenant}/${useCase} is not ready for ${uc.candidate.id}: ${status ? status.reason : "no shadow comparisons yet"}`);
  }
  const sw: DistilledSwitch = {
    tenant, useCase, model: uc.candidate.id, since: deps.now(),
    agreement: status.agreement ?? 0, lower: status.interval?.lower ?? 0, samples: status.decided,
  };
  await deps.switches.set(sw);
  return sw;
}

/** Turn the distilled route off: the use case goes back to its usual routing at the router's next refresh. */
export async function switchOff(tenant: string, useCase: string, deps: Pick<SwitchDeps, "switches">): Promise<boolean> {
  return deps.switches.clear(tenant, useCase);
}
