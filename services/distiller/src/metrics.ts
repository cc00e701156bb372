import { Counter, type Registry } from "prom-client";

/** The distiller's own Prometheus metrics, on the service's registry. */
export class DistillerMetrics {
  readonly captured: Counter<"use_case">;
  readonly notCaptured: Counter<"use_case" | "reason">;
  readonly redactions: Counter<"use_case" | "rule">;
  readonly shadowResults: Counter<"use_case" | "result">;
  readonly shadowCostNanoUsd: Counter<"use_case">;

  constructor(registry: Registry) {
    const r = [registry];
    this.captured = new Counter({ name: "costwise_distill_captured_total", help: "Frontier answers captured as distillation samples", labelNames: ["use_case"], registers: r });
    this.notCaptured = new Counter({ name: "costwise_distill_not_captured_total", help: "Joined answers a filter kept out of the samples, by reason", labelNames: ["use_case", "reason"], registers: r });
    this.redactions = new Counter({ name: "costwise_distill_redactions_total", help: "PII spans redacted from captured prompts and answers, by rule", labelNames: ["use_case", "rule"], registers: r });
    this.shadowResults = new Counter({ name: "costwise_distill_shadow_results_total", help: "Candidate shadow comparisons by result (agree, disagree, undecided, dropped)", labelNames: ["use_case", "result"], registers: r });
    this.shadowCostNanoUsd = new Counter({ name: "costwise_distill_shadow_cost_nanousd_total", help: "nano-USD spent on candidate shadow calls and judges", labelNames: ["use_case"], registers: r });
  }
}
