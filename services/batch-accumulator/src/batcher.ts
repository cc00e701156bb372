import { errorMessage, type Logger } from "@costwise/stream-runtime";
import type { Provider } from "@costwise/pricing";
import type { Accumulator, AddStatus, ClosedBatch, Pending } from "./accumulator.ts";
import type { BatchMetrics } from "./metrics.ts";

export class BatcherClosedError extends Error {
  constructor() {
    super("the batcher is closed: intake has stopped");
    this.name = new.target.name;
  }
}

export interface BatcherOptions {
  /** Requests kept in memory at most (open batches plus closed ones not yet submitted); intake waits beyond it. */
  readonly maxHeld: number;
  /** Closed batches being made durable and submitted at once. */
  readonly flushConcurrency: number;
  readonly now: () => number;
  readonly logger: Logger;
  readonly metrics: BatchMetrics;
}

/**
 * Intake side of the accumulator: adds requests, closes batches when they are full or due (a timer
 * follows the earliest due time), hands closed batches to `flush` and releases their requests, and
 * so their offsets, once `flush` resolved. Memory is bounded by `maxHeld`, not by traffic: when it
 * is reached the largest open batch is closed early and intake waits for room.
 */
export class Batcher {
  private timer: NodeJS.Timeout | undefined;
  private timerAt: number | null = null;
  private readonly queue: ClosedBatch[] = [];
  private active = 0;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly acc: Accumulator,
    private readonly flush: (batch: ClosedBatch) => Promise<void>,
    private readonly opts: BatcherOptions,
  ) {}

  get held(): number {
    return this.acc.size;
  }

  fits(provider: Provider, lineBytes: number): boolean {
    return this.acc.fits(provider, lineBytes);
  }

  watermark(topic: string, partition: number): string | null {
    return this.acc.watermark(topic, partition);
  }

  async offer(p: Pending, signal: AbortSignal): Promise<AddStatus> {
    while (this.acc.size >= this.opts.maxHeld) {
      if (this.closed) throw new BatcherClosedError();
      const largest = this.acc.closeLargest(this.opts.now());
      if (largest) this.dispatch(largest);
      await this.room(signal);
    }
    const { status, closed } = this.acc.add(p, this.opts.now());
    for (const c of closed) this.dispatch(c);
    if (status === "held") this.opts.metrics.accepted.inc({ provider: p.provider });
    this.schedule();
    return status;
  }

  /** Close every open batch now, whatever its age (end of a benchmark or a drain). */
  flushOpen(): void {
    for (const c of this.acc.due(Number.POSITIVE_INFINITY)) this.dispatch(c);
  }

  /** Stop closing batches by time; batches in flight finish or are resumed from Redis after a restart. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w();
  }

  private room(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const done = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(done);
    });
  }

  private schedule(): void {
    if (this.closed) return;
    const at = this.acc.nextDueAt();
    if (at === null || at === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = null;
      for (const c of this.acc.due(this.opts.now())) this.dispatch(c);
      this.schedule();
    }, Math.max(0, at - this.opts.now()));
    this.timer.unref();
  }

  private dispatch(c: ClosedBatch): void {
    this.queue.push(c);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.opts.flushConcurrency && this.queue.length > 0) {
      const c = this.queue.shift()!;
      this.active++;
      void this.flush(c).then(
        () => this.acc.release(c.entries),
        (err: unknown) => {
          // Only a shutdown gets here: the requests stay held, so their offsets stay uncommitted.
          this.opts.logger.warn({ batchId: c.id, err: errorMessage(err) }, "batch not submitted before shutdown");
        },
      ).finally(() => {
        this.active--;
        for (const w of this.waiters.splice(0)) w();
        this.pump();
      });
    }
  }
}
