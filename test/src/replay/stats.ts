import { rng } from "./workload.ts";

export const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/**
 * Percentile bootstrap of the quality ratio mean(method) / mean(naive), resampling requests with
 * their pair of grades (paired: both deployments answered the same request). Seeded, so a report
 * is reproducible. Returns null with no requests or a zero naive quality in the sample.
 */
export function pairedRatioInterval(method: readonly number[], naive: readonly number[], opts: { resamples?: number; seed?: number; level?: number } = {}): [number, number] | null {
  if (method.length !== naive.length) throw new Error(`paired samples differ in length: ${method.length} vs ${naive.length}`);
  const n = method.length;
  if (n === 0 || mean(naive) === 0) return null;
  const resamples = opts.resamples ?? 2000;
  const level = opts.level ?? 0.95;
  const random = rng(opts.seed ?? 1);
  const ratios: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let m = 0;
    let b = 0;
    for (let i = 0; i < n; i++) {
      const k = Math.floor(random() * n);
      m += method[k]!;
      b += naive[k]!;
    }
    if (b > 0) ratios.push(m / b);
  }
  ratios.sort((x, y) => x - y);
  const at = (q: number) => ratios[Math.min(ratios.length - 1, Math.max(0, Math.floor(q * ratios.length)))]!;
  return [at((1 - level) / 2), at(1 - (1 - level) / 2)];
}

/** Percentile bootstrap interval of a mean (0..1 grades). */
export function meanInterval(xs: readonly number[], opts: { resamples?: number; seed?: number } = {}): [number, number] | null {
  if (xs.length === 0) return null;
  const ones = xs.map(() => 1);
  return pairedRatioInterval(xs, ones, opts);
}
