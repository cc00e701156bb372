import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The cache's own Prometheus metrics, registered on the service's registry (one /metrics endpoint). */
export class CacheMetrics {
  readonly lookups: Counter<"use_case" | "result">;
  readonly lookupSeconds: Histogram<"path">;
  readonly embedSeconds: Histogram<never>;
  readonly hitSimilarity: Histogram<"use_case">;
  readonly guardRefusals: Counter<"use_case">;
  readonly learned: Counter<"result">;
  readonly degraded: Counter<"cause">;
  readonly verifications: Counter<"result" | "kind">;
  readonly outcomes: Counter<"result">;
  readonly indexEntries: Gauge<never>;
  readonly indexScopes: Gauge<never>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.lookups = new Counter({ name: "costwise_cache_lookups_total", help: "Cache lookups by outcome (HIT_EXACT, HIT_SEMANTIC, MISS, BYPASS, DEGRADED, OFF)", labelNames: ["use_case", "result"], registers });
    this.lookupSeconds = new Histogram({
      name: "costwise_cache_lookup_seconds", help: "Lookup time (path: exact = key only, semantic = embedding + ANN + guard)", labelNames: ["path"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25], registers,
    });
    this.embedSeconds = new Histogram({ name: "costwise_cache_embed_seconds", help: "Query embedding time, including the wait for the model", buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10], registers });
    this.hitSimilarity = new Histogram({ name: "costwise_cache_hit_similarity", help: "Cosine similarity of semantic hits", labelNames: ["use_case"], buckets: [0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 0.99, 1], registers });
    this.guardRefusals = new Counter({ name: "costwise_cache_guard_refusals_total", help: "Semantic candidates above the threshold refused by the salient-detail guard", labelNames: ["use_case"], registers });
    this.learned = new Counter({ name: "costwise_cache_learned_total", help: "Responses considered for storing, by result", labelNames: ["result"], registers });
    this.degraded = new Counter({ name: "costwise_cache_degraded_total", help: "Lookups that fell back (cause: redis, embedding) and calibration reads/writes that failed (calibration_read, calibration_write)", labelNames: ["cause"], registers });
    this.outcomes = new Counter({ name: "costwise_cache_outcomes_total", help: "Outcomes read for hits the cache served (result: ok, counted, invalidated, not_a_hit, repeat, ...)", labelNames: ["result"], registers });
    this.verifications = new Counter({ name: "costwise_cache_verifications_total", help: "Near misses and explorations judged against their cached neighbour (result: ok, wrong, entry_gone, ...)", labelNames: ["result", "kind"], registers });
    this.indexEntries = new Gauge({ name: "costwise_cache_index_entries", help: "Vectors in this replica's ANN index", registers });
    this.indexScopes = new Gauge({ name: "costwise_cache_index_scopes", help: "Scopes (one HNSW graph each) in this replica's ANN index", registers });
  }
}
