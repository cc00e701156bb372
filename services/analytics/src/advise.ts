import { catalog as currentCatalog, findModel, type PriceCatalog } from "@costwise/pricing";
import { formatUsd, NANO_PER_USD, type Nano } from "./money.ts";
import type { ModelUsageRow, UseCaseRow } from "./queries.ts";
import type { StructureRow } from "./structure.ts";

export type Technique = "caching" | "routing" | "compression" | "batch" | "distillation";
export const TECHNIQUES: readonly Technique[] = ["caching", "routing", "compression", "batch", "distillation"];

export interface Band {
  readonly id: "build" | "instrument" | "cache-route" | "compress" | "full";
  /** Lower bound of the band in USD per month (inclusive). */
  readonly fromUsd: number;
  readonly label: string;
  readonly advice: string;
  /** Techniques worth their engineering at this spend. */
  readonly techniques: readonly Technique[];
}

/** The spend bands of issue 7: what is worth doing at which monthly spend. */
export const BANDS: readonly Band[] = [
  { id: "build", fromUsd: 0, label: "below $2k/month", advice: "Build and measure: spend is below the cost of optimising it. Keep shipping features and let costwise record every call.", techniques: [] },
  { id: "instrument", fromUsd: 2_000, label: "$2k-$5k/month", advice: "Instrument and document: know the cost per use case and its trend, write down each use case's quality bar and latency needs before optimising.", techniques: [] },
  { id: "cache-route", fromUsd: 5_000, label: "$5k-$20k/month", advice: "Caching and routing: turn on the response cache and route easy requests to cheaper models, starting with the use cases below.", techniques: ["caching", "routing"] },
  { id: "compress", fromUsd: 20_000, label: "$20k-$100k/month", advice: "Add context compression to caching and routing, and consider distillation for the highest-volume use cases.", techniques: ["caching", "routing", "compression", "distillation"] },
  { id: "full", fromUsd: 100_000, label: "above $100k/month", advice: "Full programme: caching, routing, compression, batching of latency-tolerant work and distilled models for the high-volume use cases.", techniques: ["caching", "routing", "compression", "batch", "distillation"] },
];

/** Distillation pays back above roughly 100k calls a month and dominates above 1M (issue 8). */
export const DISTILL_PAYS_CALLS = 100_000;
export const DISTILL_DOMINATES_CALLS = 1_000_000;

export function bandFor(monthlyNano: Nano): Band {
  let band = BANDS[0]!;
  for (const b of BANDS) if (monthlyNano >= BigInt(b.fromUsd) * NANO_PER_USD) band = b;
  return band;
}

export interface Candidate {
  readonly tenant: string;
  readonly useCase: string;
  /** The monthly figure the technique would work on (nano-USD, or calls for distillation). */
  readonly monthly: bigint;
  readonly unit: "nanousd" | "calls";
  readonly why: string;
}

export interface TechniqueAdvice {
  readonly technique: Technique;
  readonly recommendedNow: boolean;
  /** Where the technique would pay most, best first. */
  readonly candidates: readonly Candidate[];
}

export interface Advice {
  /** Spend (cost + costwise overhead) per month at the window's rate. */
  readonly monthlyRunRate: Nano;
  readonly monthlyCalls: number;
  readonly band: Band;
  readonly techniques: readonly TechniqueAdvice[];
  /** Use cases at or above DISTILL_PAYS_CALLS calls a month. */
  readonly distillation: readonly { tenant: string; useCase: string; monthlyCalls: number; level: "pays" | "dominates" }[];
}

export interface AdviseInput {
  /** Length of the observed window in seconds; figures are scaled to a 30-day month. */
  readonly windowSeconds: number;
  readonly useCases: readonly UseCaseRow[];
  readonly usage: readonly ModelUsageRow[];
  readonly structure: readonly StructureRow[];
  readonly topN?: number;
}

const MONTH_SECONDS = 30 * 86_400;

/** Scale a window's amount to a 30-day month, exactly (integer, rounded half up). */
export function perMonth(amount: bigint, windowSeconds: number): bigint {
  const w = BigInt(Math.max(1, Math.round(windowSeconds)));
  const num = amount * BigInt(MONTH_SECONDS);
  return num >= 0n ? (2n * num + w) / (2n * w) : -((2n * -num + w) / (2n * w));
}

const pct = (r: number) => `${Math.round(r * 100)}%`;
const key = (t: string, u: string) => `${t}\u0000${u}`;

/**
 * What to do next, following the spend bands, and where each technique would pay most. The
 * candidate metrics are the money each technique works on, from what was recorded:
 * caching → model-call spend not yet served from cache; routing → spend above the small tier;
 * compression → uncached input-token spend; batch → real-time model spend; distillation → calls.
 */
export function advise(input: AdviseInput, catalog: PriceCatalog = currentCatalog): Advice {
  const topN = input.topN ?? 3;
  const month = (v: bigint) => perMonth(v, input.windowSeconds);
  const total = input.useCases.reduce((a, r) => a + r.cost + r.overhead, 0n);
  const calls = input.useCases.reduce((a, r) => a + r.calls, 0);
  const monthlyRunRate = month(total);
  const band = bandFor(monthlyRunRate);

  // Routing moves calls down to the small tier: what it works on is the spend above it.
  const aboveSmall = new Map<string, bigint>();
  for (const u of input.usage) {
    const price = u.model ? findModel(catalog, u.model) : undefined;
    if (price && price.tier !== "small") aboveSmall.set(key(u.tenant, u.useCase), (aboveSmall.get(key(u.tenant, u.useCase)) ?? 0n) + u.cost);
  }
  const structure = new Map(input.structure.map((s) => [key(s.tenant, s.useCase), s]));

  const rank = (list: Candidate[]) => list.filter((c) => c.monthly > 0n).sort((a, b) => (a.monthly === b.monthly ? 0 : a.monthly > b.monthly ? -1 : 1)).slice(0, topN);
  const candidates: Record<Technique, Candidate[]> = { caching: [], routing: [], compression: [], batch: [], distillation: [] };
  for (const u of input.useCases) {
    const s = structure.get(key(u.tenant, u.useCase));
    const hitRate = u.calls ? u.cacheHits / u.calls : 0;
    const modelCalls = u.calls - u.cacheHits;
    const batchShare = modelCalls ? u.batchCalls / modelCalls : 0;
    const base = { tenant: u.tenant, useCase: u.useCase, unit: "nanousd" as const };
    candidates.caching.push({ ...base, monthly: month(u.cost), why: `model-call spend; cache hit rate ${pct(hitRate)}` });
    candidates.routing.push({ ...base, monthly: month(aboveSmall.get(key(u.tenant, u.useCase)) ?? 0n), why: "spend on frontier- and mid-tier models" });
    if (s) candidates.compression.push({ ...base, monthly: month(s.inputCost + s.cacheWriteCost), why: `uncached input-token spend; compression saves ${formatUsd(month(u.savings.compression))}/month now` });
    if (s) candidates.batch.push({ ...base, monthly: month(s.realtimeCost), why: `real-time model spend; batch share ${pct(batchShare)}` });
    candidates.distillation.push({ tenant: u.tenant, useCase: u.useCase, unit: "calls", monthly: month(BigInt(u.calls)), why: "calls per month" });
  }

  const distillation = input.useCases
    .map((u) => ({ tenant: u.tenant, useCase: u.useCase, monthlyCalls: Number(month(BigInt(u.calls))) }))
    .filter((u) => u.monthlyCalls >= DISTILL_PAYS_CALLS)
    .sort((a, b) => b.monthlyCalls - a.monthlyCalls)
    .map((u) => ({ ...u, level: u.monthlyCalls >= DISTILL_DOMINATES_CALLS ? ("dominates" as const) : ("pays" as const) }));

  return {
    monthlyRunRate,
    monthlyCalls: Number(month(BigInt(calls))),
    band,
    techniques: TECHNIQUES.map((t) => ({
      technique: t,
      recommendedNow: band.techniques.includes(t),
      candidates: t === "distillation" ? rank(candidates.distillation.filter((c) => c.monthly >= BigInt(DISTILL_PAYS_CALLS))) : rank(candidates[t]),
    })),
    distillation,
  };
}
