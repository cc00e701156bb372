import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The router's own Prometheus metrics, registered on the service's registry. */
export class RouterMetrics {
  readonly decisions: Counter<"use_case" | "tier" | "strategy" | "kind">;
  readonly decisionSeconds: Histogram<"strategy">;
  readonly overheadNanoUsd: Counter<"use_case">;
  readonly shadowSampled: Counter<"use_case" | "tier">;
  readonly shadowLost: Counter<"reason">;
  readonly shadowResults: Counter<"use_case" | "tier" | "result">;
  readonly shadowCostNanoUsd: Counter<"use_case">;
  readonly agreement: Gauge<"use_case" | "tier">;
  readonly fallbackActive: Gauge<"use_case" | "tier">;
  readonly fallbackTransitions: Counter<"use_case" | "tier" | "transition">;

  constructor(registry: Registry) {
    const r = [registry];
    this.decisions = new Counter({ name: "costwise_router_decisions_total", help: "Route decisions by use case, tier, strategy and kind (routed, forced, holdout, fallback, passthrough, not-cheaper, router-error)", labelNames: ["use_case", "tier", "strategy", "kind"], registers: r });
    this.decisionSeconds = new Histogram({
      name: "costwise_router_decision_seconds", help: "Time to decide one route (LLM-as-router calls included)", labelNames: ["strategy"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1, 5], registers: r,
    });
    this.overheadNanoUsd = new Counter({ name: "costwise_router_overhead_nanousd_total", help: "nano-USD the router spent deciding (LLM-as-router)", labelNames: ["use_case"], registers: r });
    this.shadowSampled = new Counter({ name: "costwise_router_shadow_sampled_total", help: "Requests sampled for a shadow comparison", labelNames: ["use_case", "tier"], registers: r });
    this.shadowLost = new Counter({ name: "costwise_router_shadow_lost_total", help: "Shadow samples dropped (store unavailable, error answer, provider refused)", labelNames: ["reason"], registers: r });
    this.shadowResults = new Counter({ name: "costwise_router_shadow_results_total", help: "Shadow comparisons by result (agree, disagree, undecided)", labelNames: ["use_case", "tier", "result"], registers: r });
    this.shadowCostNanoUsd = new Counter({ name: "costwise_router_shadow_cost_nanousd_total", help: "nano-USD spent on shadow calls and judges", labelNames: ["use_case"], registers: r });
    this.agreement = new Gauge({ name: "costwise_router_route_agreement", help: "Agreement rate over the route's rolling window", labelNames: ["use_case", "tier"], registers: r });
    this.fallbackActive = new Gauge({ name: "costwise_router_fallback_active", help: "1 while the route is in automatic fallback to the frontier tier", labelNames: ["use_case", "tier"], registers: r });
    this.fallbackTransitions = new Counter({ name: "costwise_router_fallback_transitions_total", help: "Routes entering or leaving automatic fallback", labelNames: ["use_case", "tier", "transition"], registers: r });
  }
}
