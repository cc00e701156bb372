import { errorMessage } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { TopicPartitionOffset } from "./transport.ts";

/**
 * A service's answer to "how far may this partition be committed?": the lowest offset it still
 * holds (accepted with `hold()` but not yet made safe), or null when it holds nothing there.
 */
export type CommitWatermark = (topic: string, partition: number) => string | null;

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Commits for services that keep inputs across batches (accumulators). Per partition the loop
 * reports the last offset whose outputs were acknowledged, and the service reports through its
 * watermark the lowest offset it still holds; the committed offset is the smaller of
 * (consumed + 1) and that watermark, so everything below it has either produced its outputs or
 * been made durable by the service. Positions are forgotten on every group (re)join: a partition
 * is only committed from what this member consumed in the current generation.
 */
export class WatermarkCommits {
  private readonly consumedUpTo = new Map<string, { topic: string; partition: number; next: bigint }>();
  private readonly committed = new Map<string, bigint>();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly watermark: CommitWatermark,
    private readonly commit: (offsets: readonly TopicPartitionOffset[]) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** The loop acknowledged every output up to and including `offset`. */
  consumed(topic: string, partition: number, offset: string): void {
    const next = BigInt(offset) + 1n;
    const k = keyOf(topic, partition);
    const cur = this.consumedUpTo.get(k);
    if (!cur || next > cur.next) this.consumedUpTo.set(k, { topic, partition, next });
  }

  /** The group was (re)joined: positions of the previous generation are no longer ours to commit. */
  forget(): void {
    this.consumedUpTo.clear();
    this.committed.clear();
  }

  /** Offsets that may be committed now and were not committed yet. */
  pending(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const [k, c] of this.consumedUpTo) {
      const held = this.watermark(c.topic, c.partition);
      let target = c.next;
      if (held !== null && BigInt(held) < target) target = BigInt(held);
      const done = this.committed.get(k);
      if (done === undefined || target > done) out.push({ topic: c.topic, partition: c.partition, offset: target.toString() });
    }
    return out;
  }

  /** Commit what is pending. Calls are serialised; a failed commit is logged and retried by the next call. */
  flush(): Promise<void> {
    const run = this.chain.then(async () => {
      const offsets = this.pending();
      if (offsets.length === 0) return;
      try {
        await this.commit(offsets);
        for (const o of offsets) this.committed.set(keyOf(o.topic, o.partition), BigInt(o.offset));
      } catch (err) {
        this.logger.warn({ err: errorMessage(err), offsets }, "watermark commit failed; will retry");
      }
    });
    this.chain = run;
    return run;
  }
}
