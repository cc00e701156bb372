/**
 * Per-key token buckets, in the memory of each replica: a bucket holds `burst` tokens and refills at
 * `ratePerMinute`; a call takes one. No shared store is on the request path, so the limit costs
 * nothing per call; with N replicas behind a balancer a key gets at most N × its rate (set the rate
 * per replica accordingly). Buckets of keys idle for longer than a full refill are dropped.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number; fullMs: number }>();
  private lastSweep = 0;

  constructor(
    private readonly defaults: { ratePerMinute: number; burst: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Take a token for `key`; when none is left, how many seconds until one is. */
  take(key: string, limits: { ratePerMinute?: number | undefined; burst?: number | undefined } = {}): { ok: true } | { ok: false; retryAfterS: number } {
    const rate = (limits.ratePerMinute ?? this.defaults.ratePerMinute) / 60_000; // tokens per ms
    const burst = limits.burst ?? this.defaults.burst;
    const now = this.now();
    this.sweep(now);
    const b = this.buckets.get(key) ?? { tokens: burst, at: now, fullMs: burst / rate };
    b.tokens = Math.min(burst, b.tokens + (now - b.at) * rate);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - b.tokens) / rate / 1000)) };
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    // Idle for longer than a full refill: the bucket would be full again, so forgetting it changes nothing.
    for (const [k, b] of this.buckets) if (now - b.at > b.fullMs) this.buckets.delete(k);
  }
}
