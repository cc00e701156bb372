import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The gateway's own series, on the registry of its reply service (one /metrics per process). */
export class GatewayMetrics {
  readonly calls: Counter<"api" | "status">;
  readonly seconds: Histogram<"api" | "served_by">;
  readonly waiting: Gauge<never>;
  readonly stored: Counter<never>;

  constructor(registry: Registry, waiting: () => number) {
    const registers = [registry];
    this.calls = new Counter({ name: "costwise_gateway_calls_total", help: "HTTP calls answered, by API and status code", labelNames: ["api", "status"], registers });
    this.seconds = new Histogram({
      name: "costwise_gateway_call_seconds", help: "Time from a call's arrival to its answer", labelNames: ["api", "served_by"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers,
    });
    this.waiting = new Gauge({ name: "costwise_gateway_waiting_calls", help: "Calls waiting for their response", registers, collect() { this.set(waiting()); } });
    this.stored = new Counter({ name: "costwise_gateway_results_stored_total", help: "Responses written to Redis for later readers", registers });
  }
}
