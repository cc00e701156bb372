import type { ModelPrice, PriceCatalog } from "@costwise/pricing";
import type { UseCaseDistillPolicy } from "./policy.ts";
import { projectSaving, type VolumeRow } from "./status.ts";

/** The seed's rules of thumb: distillation pays above ~100k calls a month and dominates above ~1M. Shown as a reference, never used to decide. */
export const REFERENCE_CALLS = { pays: 100_000, dominates: 1_000_000 } as const;

export interface Advice {
  readonly useCase: string;
  readonly candidate: string;
  /** trained: a model `train` produced; planned: the fine-tuned price of fineTuneBase before any job; policy: the policy's candidate. */
  readonly candidateSource: "trained" | "planned" | "policy";
  readonly monthlyCalls: number;
  readonly monthlyCostNanoUsd: number;
  readonly monthlyCandidateCostNanoUsd: number;
  /** After the switch the router still shadow-samples the frontier model at this rate (the policy's shadow.sampleRate): charged. */
  readonly shadowSampleRate: number;
  readonly monthlyShadowOverheadNanoUsd: number;
  readonly monthlyNetSavingNanoUsd: number;
  readonly perCallNetSavingNanoUsd: number | null;
  readonly trainingCostNanoUsd: number | null;
  readonly trainingCostSource: "job" | "estimate" | "none";
  /** Calls after which the training cost is paid back by the net saving; null when it never is. */
  readonly breakEvenCalls: number | null;
  readonly breakEvenMonths: number | null;
  readonly reference: { readonly paysAboveCalls: number; readonly dominatesAboveCalls: number; readonly band: "below" | "pays" | "dominates" };
  readonly unpriced: readonly string[];
  readonly verdict: string;
}

export interface AdviseInput {
  readonly uc: UseCaseDistillPolicy;
  readonly candidate: ModelPrice;
  readonly candidateSource: Advice["candidateSource"];
  readonly volumes: readonly VolumeRow[];
  /** Candidate output tokens per frontier output token (shadow-measured; 1 without evidence). */
  readonly outputRatio: number;
  readonly windowSeconds: number;
  readonly training: { readonly costNanoUsd: number; readonly source: "job" | "estimate" } | null;
  readonly catalog: PriceCatalog;
}

/**
 * Break-even of fine-tuning a use case: the measured traffic (scaled to 30 days) priced now and on
 * the candidate, less the frontier shadow calls that keep watching the switched route, against the
 * training cost. Pure.
 */
export function advise(i: AdviseInput): Advice {
  const p = projectSaving(i.volumes, i.candidate, i.outputRatio, i.windowSeconds, i.catalog);
  const overhead = Math.round(p.monthlyCostNanoUsd * i.uc.shadow.sampleRate);
  const net = p.monthlySavingNanoUsd - overhead;
  const perCall = p.monthlyCalls > 0 ? net / p.monthlyCalls : null;
  const training = i.training?.costNanoUsd ?? null;
  const breakEvenCalls = training !== null && perCall !== null && perCall > 0 ? Math.ceil(training / perCall) : null;
  const breakEvenMonths = training !== null && net > 0 ? training / net : null;
  const band = p.monthlyCalls >= REFERENCE_CALLS.dominates ? "dominates" : p.monthlyCalls >= REFERENCE_CALLS.pays ? "pays" : "below";
  const verdict =
    p.monthlyCalls === 0
      ? "no measured traffic in the window"
      : net <= 0
        ? "does not pay: the candidate plus the shadow watch costs at least what the frontier model does"
        : training === null
          ? "pays per call; no training cost known (no job, no captured samples to estimate it)"
          : breakEvenMonths! <= 1
            ? `pays back its training within ${(breakEvenMonths! * 30).toFixed(1)} days at the measured volume`
            : `pays back its training in ${breakEvenMonths!.toFixed(1)} months at the measured volume`;
  return {
    useCase: i.uc.useCase, candidate: i.candidate.id, candidateSource: i.candidateSource,
    monthlyCalls: p.monthlyCalls, monthlyCostNanoUsd: p.monthlyCostNanoUsd, monthlyCandidateCostNanoUsd: p.monthlyCandidateCostNanoUsd,
    shadowSampleRate: i.uc.shadow.sampleRate, monthlyShadowOverheadNanoUsd: overhead, monthlyNetSavingNanoUsd: net, perCallNetSavingNanoUsd: perCall,
    trainingCostNanoUsd: training, trainingCostSource: i.training?.source ?? "none", breakEvenCalls, breakEvenMonths,
    reference: { paysAboveCalls: REFERENCE_CALLS.pays, dominatesAboveCalls: REFERENCE_CALLS.dominates, band },
    unpriced: p.unpriced, verdict,
  };
}
