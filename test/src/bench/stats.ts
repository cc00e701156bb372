/** Nearest-rank percentile of an unsorted sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Peak resident set size of a process (VmHWM), in MB; undefined once it is gone. */
export async function peakRssMb(pid: number): Promise<number | undefined> {
  try {
    const { readFile } = await import("node:fs/promises");
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time a process has used so far (user + system, all its threads), in seconds; undefined once
 * it is gone. Linux counts it in clock ticks of 1/100 s.
 */
export async function cpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const { readFile } = await import("node:fs/promises");
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** One Prometheus histogram summed over its label sets: cumulative bucket counts by `le`, sum and count. */
export interface HistogramReading {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

/** Reads histogram `name` from Prometheus text exposition, summing the series whose labels match `where`. */
export function readHistogram(text: string, name: string, where: Record<string, string> = {}): HistogramReading {
  const out: HistogramReading = { buckets: new Map(), sum: 0, count: 0 };
  const line = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/;
  for (const raw of text.split("\n")) {
    const m = line.exec(raw);
    if (!m || !m[1]!.startsWith(name)) continue;
    const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (Object.entries(where).some(([k, v]) => labels[k] !== v)) continue;
    const value = Number(m[3]);
    const suffix = m[1]!.slice(name.length);
    if (suffix === "_bucket") {
      const le = labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(labels.le);
      out.buckets.set(le, (out.buckets.get(le) ?? 0) + value);
    } else if (suffix === "_sum") out.sum += value;
    else if (suffix === "_count") out.count += value;
  }
  return out;
}

/** What a histogram gained between two readings. */
export function histogramDelta(before: HistogramReading, after: HistogramReading): HistogramReading {
  const buckets = new Map([...after.buckets].map(([le, n]) => [le, n - (before.buckets.get(le) ?? 0)]));
  return { buckets, sum: after.sum - before.sum, count: after.count - before.count };
}

/** Upper bound of the first bucket holding the p-th percentile (what a histogram can say), NaN when empty. */
export function histogramQuantile(h: HistogramReading, p: number): number {
  if (h.count <= 0) return Number.NaN;
  const rank = (p / 100) * h.count;
  for (const [le, n] of [...h.buckets].sort((a, b) => a[0] - b[0])) if (n >= rank) return le;
  return Number.POSITIVE_INFINITY;
}

/** The sum of a Prometheus counter over its label sets (0 when the exposition has none). */
export function counterSum(metrics: string, name: string): number {
  let total = 0;
  for (const line of metrics.split("\n")) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  return total;
}
