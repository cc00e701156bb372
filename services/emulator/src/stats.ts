export interface ModelStats {
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheCreationInputTokens: number;
  outputTokens: number;
}

export interface StatsSnapshot {
  since: string;
  requests: number;
  byEndpoint: Record<string, { requests: number; byStatus: Record<string, number> }>;
  byModel: Record<string, ModelStats>;
  byStatus: Record<string, number>;
  faultsInjected: Record<string, number>;
}

/** Counters for `GET /_emulator/stats`; plain maps so that recording stays cheap. */
export class Stats {
  private since = Date.now();
  private total = 0;
  private readonly endpoints = new Map<string, { requests: number; byStatus: Map<number, number> }>();
  private readonly models = new Map<string, ModelStats>();
  private readonly statuses = new Map<number, number>();
  private readonly faults = new Map<string, number>();

  recordResponse(endpoint: string, status: number): void {
    this.total++;
    let entry = this.endpoints.get(endpoint);
    if (!entry) {
      entry = { requests: 0, byStatus: new Map() };
      this.endpoints.set(endpoint, entry);
    }
    entry.requests++;
    entry.byStatus.set(status, (entry.byStatus.get(status) ?? 0) + 1);
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  recordUsage(model: string, usage: Omit<ModelStats, "requests">): void {
    let entry = this.models.get(model);
    if (!entry) {
      entry = { requests: 0, inputTokens: 0, cachedInputTokens: 0, cacheCreationInputTokens: 0, outputTokens: 0 };
      this.models.set(model, entry);
    }
    entry.requests++;
    entry.inputTokens += usage.inputTokens;
    entry.cachedInputTokens += usage.cachedInputTokens;
    entry.cacheCreationInputTokens += usage.cacheCreationInputTokens;
    entry.outputTokens += usage.outputTokens;
  }

  recordFault(kind: string, category: string): void {
    const key = `${kind}:${category}`;
    this.faults.set(key, (this.faults.get(key) ?? 0) + 1);
  }

  snapshot(): StatsSnapshot {
    const byEndpoint: StatsSnapshot["byEndpoint"] = {};
    for (const [endpoint, entry] of this.endpoints) {
      byEndpoint[endpoint] = { requests: entry.requests, byStatus: Object.fromEntries([...entry.byStatus].map(([s, n]) => [String(s), n])) };
    }
    return {
      since: new Date(this.since).toISOString(),
      requests: this.total,
      byEndpoint,
      byModel: Object.fromEntries([...this.models].map(([model, entry]) => [model, { ...entry }])),
      byStatus: Object.fromEntries([...this.statuses].map(([s, n]) => [String(s), n])),
      faultsInjected: Object.fromEntries(this.faults),
    };
  }

  reset(): void {
    this.since = Date.now();
    this.total = 0;
    this.endpoints.clear();
    this.models.clear();
    this.statuses.clear();
    this.faults.clear();
  }
}
