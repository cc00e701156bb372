import { z } from "zod";
import { mulberry32, randomId } from "./hash.ts";

export const FAULT_KINDS = ["429", "500", "503", "timeout", "malformed"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const ENDPOINT_CATEGORIES = ["chat", "messages", "embeddings", "batches"] as const;
export type EndpointCategory = (typeof ENDPOINT_CATEGORIES)[number];

export const FaultSpecSchema = z
  .object({
    kind: z.enum(FAULT_KINDS),
    /** Fault the next `count` matching requests (with `rate`, at most `count` of them). */
    count: z.number().int().positive().optional(),
    /** Probability of faulting each matching request. */
    rate: z.number().min(0).max(1).optional(),
    retryAfterSeconds: z.number().nonnegative().optional(),
    /** How long a `timeout` fault holds the request; defaults to the configured timeoutMs. */
    timeoutMs: z.number().int().nonnegative().optional(),
    paths: z.array(z.enum(ENDPOINT_CATEGORIES)).min(1).optional(),
  })
  .strict();
export type FaultSpec = z.infer<typeof FaultSpecSchema>;

export interface FaultRule {
  id: string;
  kind: FaultKind;
  /** Faults still to inject; null = unlimited (rate-only rule). */
  remaining: number | null;
  rate: number;
  retryAfterSeconds: number;
  timeoutMs: number | null;
  paths: readonly EndpointCategory[] | null;
  injected: number;
}

/**
 * Fault rules, checked in the order they were added; the first rule that fires decides the
 * request's fate. Rate draws use a seeded PRNG so that runs are reproducible.
 */
export class FaultInjector {
  private rules: FaultRule[] = [];
  private rng: () => number;

  constructor(private readonly seed: number) {
    this.rng = mulberry32(seed);
  }

  add(spec: FaultSpec): FaultRule {
    const rule: FaultRule = {
      id: randomId("fault_", 12),
      kind: spec.kind,
      remaining: spec.count ?? (spec.rate === undefined ? 1 : null),
      rate: spec.rate ?? 1,
      retryAfterSeconds: spec.retryAfterSeconds ?? 1,
      timeoutMs: spec.timeoutMs ?? null,
      paths: spec.paths ?? null,
      injected: 0,
    };
    this.rules.push(rule);
    return rule;
  }

  /** The fault to inject for a request to this category, if any (consumes one use of the rule). */
  pick(category: EndpointCategory): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.paths && !rule.paths.includes(category)) continue;
      if (rule.remaining !== null && rule.remaining <= 0) continue;
      if (rule.rate < 1 && this.rng() >= rule.rate) continue;
      rule.injected++;
      if (rule.remaining !== null) rule.remaining--;
      if (rule.remaining === 0) this.rules = this.rules.filter((r) => r !== rule);
      return rule;
    }
    return undefined;
  }

  list(): readonly FaultRule[] {
    return this.rules;
  }

  clear(): void {
    this.rules = [];
  }

  reset(): void {
    this.rules = [];
    this.rng = mulberry32(this.seed);
  }
}
