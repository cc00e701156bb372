import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The batch path's own Prometheus metrics, registered on the service's registry (next to the runtime's). */
export class BatchMetrics {
  readonly accepted: Counter<"provider">;
  readonly toRealtime: Counter<"reason">;
  readonly rejected: Counter<"code">;
  readonly duplicates: Counter<never>;
  readonly flushes: Counter<"reason">;
  readonly submitted: Counter<"provider">;
  readonly adopted: Counter<"provider">;
  readonly batchRequests: Histogram<"provider">;
  readonly outcomes: Counter<"provider" | "outcome">;
  readonly queueDelaySeconds: Histogram<never>;
  readonly held: Gauge<never>;
  readonly tracked: Gauge<never>;

  constructor(registry: Registry, observe: { held: () => number; tracked: () => number }) {
    const registers = [registry];
    this.accepted = new Counter({ name: "costwise_batch_accepted_total", help: "Requests accepted into an open batch", labelNames: ["provider"], registers });
    this.toRealtime = new Counter({ name: "costwise_batch_to_realtime_total", help: "Requests sent to the real-time path at intake", labelNames: ["reason"], registers });
    this.rejected = new Counter({ name: "costwise_batch_rejected_total", help: "Requests rejected at intake (ERROR response + dead letter)", labelNames: ["code"], registers });
    this.duplicates = new Counter({ name: "costwise_batch_duplicates_total", help: "Copies of requests already held or claimed by a batch, dropped", registers });
    this.flushes = new Counter({ name: "costwise_batch_flushes_total", help: "Open batches closed, by reason", labelNames: ["reason"], registers });
    this.submitted = new Counter({ name: "costwise_batch_submitted_total", help: "Provider batches created", labelNames: ["provider"], registers });
    this.adopted = new Counter({ name: "costwise_batch_adopted_total", help: "Provider batches found again after a crash instead of being created twice", labelNames: ["provider"], registers });
    this.batchRequests = new Histogram({
      name: "costwise_batch_requests", help: "Requests per submitted batch", labelNames: ["provider"], registers,
      buckets: [1, 10, 100, 1_000, 5_000, 10_000, 25_000, 50_000, 100_000],
    });
    this.outcomes = new Counter({ name: "costwise_batch_outcomes_total", help: "Requests of finished batches by outcome (ok, batch, realtime, error)", labelNames: ["provider", "outcome"], registers });
    this.queueDelaySeconds = new Histogram({
      name: "costwise_batch_queue_delay_seconds", help: "Time from acceptance to submission of a batched request", registers,
      buckets: [0.1, 1, 5, 30, 60, 300, 900, 3_600],
    });
    this.held = new Gauge({ name: "costwise_batch_held_requests", help: "Requests in memory not yet in a submitted batch", registers, collect() { this.set(observe.held()); } });
    this.tracked = new Gauge({ name: "costwise_batch_tracked_batches", help: "Stored batches this instance works on", registers, collect() { this.set(observe.tracked()); } });
  }
}
