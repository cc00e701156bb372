import { Counter, type Registry } from "prom-client";

/** The compression stage's own Prometheus series, registered on the runtime's registry. */
export class CompressionMetrics {
  readonly requests: Counter<"use_case" | "outcome">;
  readonly contextTokens: Counter<"use_case" | "phase">;
  readonly overheadNanoUsd: Counter<"use_case">;
  readonly strategyEvents: Counter<"strategy" | "event">;
  readonly dispatched: Counter<"topic">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({ name: "costwise_compression_requests_total", help: "Requests by outcome: compressed, unchanged, no_context, rejected, failed_open", labelNames: ["use_case", "outcome"], registers });
    this.contextTokens = new Counter({ name: "costwise_compression_context_tokens_total", help: "Context tokens before and after compression", labelNames: ["use_case", "phase"], registers });
    this.overheadNanoUsd = new Counter({ name: "costwise_compression_overhead_nanousd_total", help: "Summariser spend, nano-USD", labelNames: ["use_case"], registers });
    this.strategyEvents = new Counter({ name: "costwise_compression_strategy_events_total", help: "Strategy fallbacks and failures (store_error, call_error, timeout, http, network, invalid_response, refused)", labelNames: ["strategy", "event"], registers });
    this.dispatched = new Counter({ name: "costwise_compression_dispatched_total", help: "Requests sent on, by topic", labelNames: ["topic"], registers });
  }
}
