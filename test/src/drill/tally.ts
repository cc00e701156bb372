/** What one drill measured, and whether anything was lost. */
export interface DrillResult {
  readonly drill: string;
  readonly sent: number;
  /** Distinct requests with at least one response. */
  readonly answered: number;
  /** Responses beyond the first per request (at-least-once redelivery; collapsed by request_id downstream). */
  readonly duplicates: number;
  /** Distinct requests with a row in llm_calls (FINAL). */
  readonly rows: number;
  readonly maxLatencyMs: number | null;
  readonly p50LatencyMs: number | null;
  /** Responses with status ERROR (expected only where the drill sends invalid requests). */
  readonly errors: number;
  /** Poison records seen on the dead-letter topic, and how many were sent. */
  readonly deadLettered?: { readonly expected: number; readonly seen: number };
  readonly seconds: number;
  readonly failures: readonly string[];
}

export interface Observed {
  readonly sentAt: ReadonlyMap<string, number>;
  /** Every response of the drill's ids, in arrival order (duplicates included). */
  readonly responses: readonly { readonly id: string; readonly status: string; readonly at: number }[];
  readonly rows: number;
  /** Ids whose response must be an ERROR (invalid requests), all others must be OK. */
  readonly expectErrors?: ReadonlySet<string>;
  readonly deadLettered?: { readonly expected: number; readonly seen: number };
}

function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Count, compare and judge: any request without a response or a row, or a wrong status, fails the drill. */
export function tally(drill: string, o: Observed, seconds: number): DrillResult {
  const first = new Map<string, { status: string; at: number }>();
  let duplicates = 0;
  for (const r of o.responses) {
    if (!o.sentAt.has(r.id)) continue;
    if (first.has(r.id)) duplicates++;
    else first.set(r.id, r);
  }
  const latencies = [...first].map(([id, r]) => r.at - o.sentAt.get(id)!).sort((a, b) => a - b);
  const failures: string[] = [];
  const sent = o.sentAt.size;
  const missing = [...o.sentAt.keys()].filter((id) => !first.has(id));
  if (missing.length > 0) failures.push(`${missing.length} request(s) without a response (e.g. ${missing.slice(0, 3).join(", ")})`);
  if (o.rows !== sent) failures.push(`${sent - o.rows} request(s) without a row in llm_calls`);
  const wrong = [...first].filter(([id, r]) => (o.expectErrors?.has(id) ? r.status !== "ERROR" : r.status !== "OK"));
  if (wrong.length > 0) failures.push(`${wrong.length} response(s) with an unexpected status (e.g. ${wrong.slice(0, 3).map(([id, r]) => `${id}: ${r.status}`).join(", ")})`);
  if (o.deadLettered && o.deadLettered.seen < o.deadLettered.expected) failures.push(`${o.deadLettered.expected - o.deadLettered.seen} poison record(s) missing from the dead-letter topic`);
  return {
    drill, sent, answered: first.size, duplicates, rows: o.rows,
    maxLatencyMs: latencies.length ? latencies[latencies.length - 1]! : null,
    p50LatencyMs: percentile(latencies, 0.5),
    errors: [...first.values()].filter((r) => r.status === "ERROR").length,
    ...(o.deadLettered ? { deadLettered: o.deadLettered } : {}),
    seconds, failures,
  };
}

const sec = (ms: number | null) => (ms === null ? "-" : (ms / 1000).toFixed(1));

/** The table of docs/reliability.md. */
export function renderTable(results: readonly DrillResult[]): string {
  const head = "| drill | sent | answered | duplicates | rows in ClickHouse | dead-lettered | p50 latency (s) | max latency (s) | result |";
  const rule = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |";
  const rows = results.map((r) =>
    `| ${r.drill} | ${r.sent} | ${r.answered} | ${r.duplicates} | ${r.rows} | ${r.deadLettered ? `${r.deadLettered.seen}/${r.deadLettered.expected}` : "-"} | ${sec(r.p50LatencyMs)} | ${sec(r.maxLatencyMs)} | ${r.failures.length === 0 ? "pass" : `FAIL: ${r.failures.join("; ")}`} |`);
  return [head, rule, ...rows].join("\n");
}
