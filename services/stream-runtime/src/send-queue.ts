import { errorMessage } from "./errors.ts";
import type { ServiceHealth } from "./health.ts";
import type { Logger } from "./logger.ts";
import type { StreamMetrics } from "./metrics.ts";
import { withRetry, type RetryPolicy } from "./retry.ts";
import type { ProducedRecord, ProducerPort } from "./transport.ts";

/** The records of one processed input (or one processBatch sub-batch), sent together. */
export interface SendEntry {
  readonly records: readonly ProducedRecord[];
  /** Inputs these records stand for (the sends-per-input metric). */
  readonly inputs: number;
  /** False once the entry's batch has failed past it: it is dropped unsent (the batch is re-delivered). */
  live(): boolean;
  /** Called exactly once: acknowledged by all in-sync replicas, dropped, or failed after retries. */
  done(result: { acked: true } | { acked: false; error?: unknown }): void;
}

export interface SendQueueOptions {
  readonly producer: ProducerPort;
  readonly retry: RetryPolicy;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly metrics: StreamMetrics;
  readonly health?: ServiceHealth;
  /**
   * Bytes (keys and values) above which queued entries wait for the next send. Kept under the
   * broker's default record-batch limit (1 MiB), which one partition of one send must fit in.
   */
  readonly maxSendBytes?: number;
}

const entryBytes = (e: SendEntry) => e.records.reduce((n, r) => n + r.value.length + (r.key?.length ?? 0), 0);

/**
 * One producer, one send at a time (the idempotent producer allows one request in flight), and
 * everything queued while a send is in flight goes out together in the next one: under load the
 * producer sends few large batches instead of many small ones, and at low load a lone record
 * leaves at once. Entries keep their queue order inside and across sends, so records of one key
 * queued in order are produced in order. A send is retried as a whole; when it fails after
 * retries its entries are told, and the queue goes on with entries that are still live.
 */
export class SendQueue {
  private readonly queue: SendEntry[] = [];
  private running = false;
  private readonly maxBytes: number;

  constructor(private readonly opts: SendQueueOptions) {
    this.maxBytes = opts.maxSendBytes ?? 900 * 1024;
  }

  push(entry: SendEntry): void {
    this.queue.push(entry);
    if (!this.running) {
      this.running = true;
      void this.loop();
    }
  }

  private take(): SendEntry[] {
    const group: SendEntry[] = [];
    let bytes = 0;
    while (this.queue.length > 0) {
      const e = this.queue[0]!;
      if (!e.live()) {
        this.queue.shift();
        e.done({ acked: false });
        continue;
      }
      const b = entryBytes(e);
      if (group.length > 0 && bytes + b > this.maxBytes) break;
      this.queue.shift();
      group.push(e);
      bytes += b;
    }
    return group;
  }

  private async loop(): Promise<void> {
    const { producer, retry, signal, logger, metrics, health } = this.opts;
    try {
      // Inputs finished in the same tick leave in the same send.
      await null;
      while (this.queue.length > 0) {
        const group = this.take();
        if (group.length === 0) continue;
        const records = group.length === 1 ? group[0]!.records : group.flatMap((e) => e.records);
        try {
          await withRetry(() => producer.send(records), retry, {
            signal,
            onRetry: (err, attempt) => {
              health?.degrade("produce", `sending outputs fails: ${errorMessage(err)}`);
              logger.warn({ err: errorMessage(err), attempt, records: records.length }, "produce failed, retrying");
            },
          });
        } catch (error) {
          health?.degrade("produce", `sending outputs failed after retries (batch re-delivered): ${errorMessage(error)}`);
          for (const e of group) e.done({ acked: false, error });
          continue;
        }
        health?.recover("produce");
        let inputs = 0;
        for (const e of group) {
          inputs += e.inputs;
          for (const r of e.records) metrics.produced.inc({ topic: r.topic });
        }
        metrics.batchSize.observe(inputs);
        for (const e of group) e.done({ acked: true });
      }
    } finally {
      this.running = false;
    }
  }
}
