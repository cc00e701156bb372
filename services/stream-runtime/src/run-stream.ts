import { topicByName, topics, type TopicSpec } from "@costwise/schemas";
import { deadLetterRecord } from "./dead-letter.ts";
import { PoisonMessageError, SchemaError, errorMessage } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { StreamMetrics } from "./metrics.ts";
import type { Outcome } from "./outcome.ts";
import { encodeOutput } from "./produce.ts";
import { withRetry, type RetryPolicy } from "./retry.ts";
import type { Serde } from "./serde.ts";
import type { BatchHandle, ProducedRecord, ProducerPort } from "./transport.ts";
import type { BatchProcessFn, Envelope, ProcessFn, RawMessage } from "./types.ts";
import type { WatermarkCommits } from "./watermark.ts";
import type { ServiceHealth } from "./health.ts";

export interface LoopOptions<T> {
  readonly service: string;
  readonly process?: ProcessFn<T>;
  readonly processBatch?: BatchProcessFn<T>;
  readonly serde: Serde;
  readonly producer: ProducerPort;
  readonly logger: Logger;
  readonly metrics: StreamMetrics;
  readonly retry: RetryPolicy;
  /** Messages handled between two commits. */
  readonly subBatchSize: number;
  /** Inputs of one sub-batch processed at once (outputs still leave in input order). */
  readonly concurrency: number;
  readonly deadLetterTopic?: TopicSpec;
  readonly signal: AbortSignal;
  readonly now?: () => number;
  /**
   * For services that hold inputs (`hold()`): consumption is reported here and commits follow the
   * service's watermark instead of the resolved offsets. Without it, a held outcome is a bug and fails the batch.
   */
  readonly watermark?: WatermarkCommits;
  /**
   * Inputs whose key this returns false for are passed over undecoded (their offsets still advance):
   * for a consumer that only owns some keys of a topic every replica reads, e.g. the gateway's replies.
   */
  readonly acceptKey?: (key: Buffer | null) => boolean;
  /** Told when produces or processing keep failing (degraded) and when they work again. */
  readonly health?: ServiceHealth;
}

type Decoded<T> = { ok: true; msg: RawMessage; env: Envelope<T> } | { ok: false; msg: RawMessage; error: unknown };

function headerStrings(h: RawMessage["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = v.toString();
  return out;
}

/** `fn` over `items` with at most `limit` running at once; results in input order. */
export async function mapLimit<A, B>(items: readonly A[], limit: number, fn: (a: A) => Promise<B>): Promise<B[]> {
  const out = new Array<B>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * The consume → decode → process → encode → produce → commit loop, for one partition batch.
 * The only code in costwise that resolves offsets. Per sub-batch:
 *  1. stop early if the consumer is stopping or the batch went stale (unresolved messages come again);
 *  2. decode; undecodable bytes are poison → dead-letter with the original bytes;
 *  3. process (retried with backoff when it throws; poison errors are dead-lettered);
 *  4. encode and send every output plus dead-letter records, awaiting acks from all replicas;
 *  5. only then resolve the last offset and commit.
 * A failure that outlives its retries propagates without resolving, so the transport re-delivers
 * from the last commit: nothing is lost, and downstream collapses the duplicates by request_id.
 */
export function createBatchHandler<T>(opts: LoopOptions<T>): (batch: BatchHandle) => Promise<void> {
  if (!opts.process === !opts.processBatch) throw new Error("give exactly one of process or processBatch");
  const now = opts.now ?? Date.now;
  const dlq = opts.deadLetterTopic ?? topics.deadLetters;

  return async function handleBatch(batch: BatchHandle): Promise<void> {
    const input = topicByName(batch.topic);
    if (!input) throw new Error(`topic ${batch.topic} is not in the topic table`);
    const log = opts.logger.child({ topic: batch.topic, partition: batch.partition });

    for (let start = 0; start < batch.messages.length; start += opts.subBatchSize) {
      if (!batch.isRunning() || batch.isStale()) return;
      const chunk = batch.messages.slice(start, start + opts.subBatchSize);
      const accepted = opts.acceptKey ? chunk.filter((m) => opts.acceptKey!(m.key)) : chunk;
      opts.metrics.batchSize.observe(chunk.length);
      opts.metrics.consumed.inc({ topic: batch.topic }, chunk.length);
      // Long provider calls must not cost the group membership.
      const beat = setInterval(() => void batch.heartbeat().catch(() => undefined), 3_000);
      try {
        const decoded = await Promise.all(accepted.map((msg) => decode<T>(opts.serde, input, batch.partition, msg, now)));
        const outcomes = opts.processBatch
          ? await runBatch(opts, opts.processBatch, decoded, log)
          : await mapLimit(decoded, opts.concurrency, (d) => runOne(opts, opts.process!, d, log));

        if (!opts.watermark && outcomes.some((o) => o.held !== undefined)) {
          throw new Error("process returned hold() but the service has no commitWatermark: its offsets would be committed before it is safe");
        }
        const records: ProducedRecord[] = [];
        decoded.forEach((d, i) => {
          const outcome = outcomes[i]!;
          let reason = outcome.deadLetter;
          let errorClass = d.ok ? undefined : (d.error as Error).name;
          for (const out of outcome.outputs) {
            try {
              records.push(encodeOutput(opts.serde, out));
            } catch (err) {
              // An output our own code built does not fit the contract: keep the input for a fixed release.
              reason = `output to ${out.topic.name} rejected: ${errorMessage(err)}`;
              errorClass = "OutputSchemaError";
            }
          }
          if (reason !== undefined) {
            records.push(deadLetterRecord(dlq, d.msg, { reason, service: opts.service, sourceTopic: batch.topic, partition: batch.partition, now: now(), ...(errorClass ? { errorClass } : {}) }));
            opts.metrics.deadLettered.inc({ topic: batch.topic });
            log.warn({ offset: d.msg.offset, requestId: d.msg.key?.toString(), reason }, "dead-lettered");
          }
        });

        await withRetry(() => opts.producer.send(records), opts.retry, {
          signal: opts.signal,
          onRetry: (err, attempt) => {
            opts.health?.degrade("produce", `sending outputs fails: ${errorMessage(err)}`);
            log.warn({ err: errorMessage(err), attempt }, "produce failed, retrying");
          },
        }).catch((err: unknown) => {
          opts.health?.degrade("produce", `sending outputs failed after retries (batch re-delivered): ${errorMessage(err)}`);
          throw err;
        });
        opts.health?.recover("produce");
        opts.health?.recover("process");
        for (const r of records) opts.metrics.produced.inc({ topic: r.topic });
        const last = chunk[chunk.length - 1]!.offset;
        // With a watermark, resolving only moves the fetch position; what is committed is decided there.
        batch.resolveOffset(last);
        if (opts.watermark) opts.watermark.consumed(batch.topic, batch.partition, last);
        else await batch.commitOffsetsIfNecessary();
      } finally {
        clearInterval(beat);
      }
    }
  };
}

async function decode<T>(serde: Serde, topic: TopicSpec, partition: number, msg: RawMessage, now: () => number): Promise<Decoded<T>> {
  try {
    if (!msg.value) throw new SchemaError("empty message value (tombstone)");
    const value = await serde.decode<T>(topic, msg.value);
    return {
      ok: true,
      msg,
      env: { value, key: msg.key?.toString("utf8") ?? null, topic: topic.name, partition, offset: msg.offset, headers: headerStrings(msg.headers), receivedAt: now() },
    };
  } catch (error) {
    if (error instanceof PoisonMessageError) return { ok: false, msg, error };
    throw error; // registry unreachable: transient, the batch is re-delivered
  }
}

async function runOne<T>(opts: LoopOptions<T>, process: ProcessFn<T>, d: Decoded<T>, log: Logger): Promise<Outcome> {
  if (!d.ok) return { outputs: [], deadLetter: `undecodable input: ${errorMessage(d.error)}` };
  const requestId = d.env.key ?? undefined;
  const mlog = log.child({ offset: d.env.offset, requestId });
  const end = opts.metrics.processSeconds.startTimer();
  try {
    return await withRetry(() => process(d.env.value, { logger: mlog, envelope: d.env, signal: opts.signal }), opts.retry, {
      signal: opts.signal,
      onRetry: (err, attempt, delayMs) => {
        opts.metrics.retries.inc();
        mlog.warn({ err: errorMessage(err), attempt, delayMs }, "process failed, retrying");
      },
    });
  } catch (err) {
    if (err instanceof PoisonMessageError) return { outputs: [], deadLetter: errorMessage(err) };
    mlog.error({ err: errorMessage(err) }, "process failed after retries; batch will be re-delivered");
    opts.health?.degrade("process", `processing fails after retries (batch re-delivered): ${errorMessage(err)}`);
    throw err;
  } finally {
    end();
  }
}

async function runBatch<T>(opts: LoopOptions<T>, processBatch: BatchProcessFn<T>, decoded: Decoded<T>[], log: Logger): Promise<Outcome[]> {
  const good = decoded.filter((d): d is Extract<Decoded<T>, { ok: true }> => d.ok);
  const end = opts.metrics.processSeconds.startTimer();
  const results = good.length === 0 ? [] : await withRetry(() => processBatch(good.map((d) => d.env), { logger: log, signal: opts.signal }), opts.retry, {
    signal: opts.signal,
    onRetry: (err, attempt, delayMs) => {
      opts.metrics.retries.inc();
      log.warn({ err: errorMessage(err), attempt, delayMs, size: good.length }, "batch process failed, retrying");
    },
  });
  end();
  if (results.length !== good.length) throw new Error(`processBatch returned ${results.length} outcomes for ${good.length} inputs`);
  let j = 0;
  return decoded.map((d) => (d.ok ? results[j++]! : { outputs: [], deadLetter: `undecodable input: ${errorMessage(d.error)}` }));
}
