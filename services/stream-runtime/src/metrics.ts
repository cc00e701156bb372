import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The runtime's Prometheus metrics; services add their own to `registry`. */
export class StreamMetrics {
  readonly registry = new Registry();
  readonly consumed: Counter<"topic">;
  readonly produced: Counter<"topic">;
  readonly deadLettered: Counter<"topic">;
  readonly retries: Counter<never>;
  readonly processSeconds: Histogram<never>;
  readonly batchSize: Histogram<never>;
  readonly inputAge: Histogram<"topic">;

  constructor(readonly service: string, opts: { defaultMetrics?: boolean } = {}) {
    this.registry.setDefaultLabels({ service });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const r = [this.registry];
    this.consumed = new Counter({ name: "costwise_messages_consumed_total", help: "Messages consumed", labelNames: ["topic"], registers: r });
    this.produced = new Counter({ name: "costwise_messages_produced_total", help: "Records produced (acknowledged)", labelNames: ["topic"], registers: r });
    this.deadLettered = new Counter({ name: "costwise_dead_letters_total", help: "Inputs sent to the dead-letter topic", labelNames: ["topic"], registers: r });
    this.retries = new Counter({ name: "costwise_process_retries_total", help: "Transient failures retried", registers: r });
    this.processSeconds = new Histogram({
      name: "costwise_process_seconds", help: "Time to process one input (process function, retries included)",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: r,
    });
    // Which hop of a pipeline is slow: the time an input spent between its producer and this stage.
    this.inputAge = new Histogram({
      name: "costwise_input_age_seconds", help: "Age of an input when this stage received it (now minus the record's timestamp, clocks permitting)",
      labelNames: ["topic"], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers: r,
    });
    this.batchSize = new Histogram({ name: "costwise_sub_batch_size", help: "Inputs whose outputs left in one send", buckets: [1, 5, 10, 25, 50, 100, 250, 500], registers: r });
  }
}
