import { topicByName, topics, type TopicSpec } from "@costwise/schemas";
import { deadLetterRecord } from "./dead-letter.ts";
import { PoisonMessageError, SchemaError, errorMessage } from "./errors.ts";
import type { Logger } from "./logger.ts";
import type { StreamMetrics } from "./metrics.ts";
import type { Outcome } from "./outcome.ts";
import { encodeOutput } from "./produce.ts";
import { withRetry, type RetryPolicy } from "./retry.ts";
import type { Serde } from "./serde.ts";
import { SendQueue } from "./send-queue.ts";
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
  /**
   * With `process`: at most this many inputs are taken beyond the last one whose outputs are all
   * acknowledged (what a re-delivery may repeat). With `processBatch`: the inputs of one call.
   */
  readonly subBatchSize: number;
  /** With `process`: inputs processed at once (outputs of one key still leave in input order). */
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
 * The only code in costwise that resolves offsets.
 *
 * With `process`, inputs go through a sliding window: at most `concurrency` are processed at once,
 * and as soon as one is done its encoded outputs (and dead letters) join the service's send queue,
 * which sends whatever accumulated while the previous send was in flight. A slow input therefore
 * holds up no other input's outputs; only its own key waits, so that outputs of one key (one
 * request_id) leave in input order. With `processBatch`, each sub-batch of `subBatchSize` is one
 * call, and the next sub-batch is processed while the previous one's outputs are being sent.
 *
 * Offsets are resolved (and committed without blocking the inputs behind them) only up to the
 * contiguous prefix of inputs whose outputs are all acknowledged by the in-sync replicas: never
 * past an input still processing or sending. At most `subBatchSize` inputs are taken beyond that
 * prefix, which bounds the work a re-delivery repeats. Poison input (undecodable bytes,
 * PoisonMessageError, a dead-letter outcome, an output outside the contract) is dead-lettered.
 * The handler stops taking inputs when the consumer stops or the batch goes stale, and when a
 * failure outlives its retries; it then waits for what is in flight, resolves the acknowledged
 * prefix and (on failure) throws, so the transport re-delivers the rest from the last commit:
 * nothing is lost, and downstream collapses the duplicates by request_id.
 */
export function createBatchHandler<T>(opts: LoopOptions<T>): (batch: BatchHandle) => Promise<void> {
  if (!opts.process === !opts.processBatch) throw new Error("give exactly one of process or processBatch");
  const now = opts.now ?? Date.now;
  const dlq = opts.deadLetterTopic ?? topics.deadLetters;
  // One queue for every partition the service consumes: their outputs share the producer's sends.
  const sends = new SendQueue({ producer: opts.producer, retry: opts.retry, signal: opts.signal, logger: opts.logger, metrics: opts.metrics, ...(opts.health ? { health: opts.health } : {}) });

  /** The records an outcome makes: its outputs, then its dead letter (also when an output breaks the contract). */
  function recordsOf(d: Decoded<T>, outcome: Outcome, topic: string, partition: number, log: Logger, into: ProducedRecord[]): void {
    let reason = outcome.deadLetter;
    let errorClass = d.ok ? undefined : (d.error as Error).name;
    for (const out of outcome.outputs) {
      try {
        into.push(encodeOutput(opts.serde, out));
      } catch (err) {
        // An output our own code built does not fit the contract: keep the input for a fixed release.
        reason = `output to ${out.topic.name} rejected: ${errorMessage(err)}`;
        errorClass = "OutputSchemaError";
      }
    }
    if (reason !== undefined) {
      into.push(deadLetterRecord(dlq, d.msg, { reason, service: opts.service, sourceTopic: topic, partition, now: now(), ...(errorClass ? { errorClass } : {}) }));
      opts.metrics.deadLettered.inc({ topic });
      log.warn({ offset: d.msg.offset, requestId: d.msg.key?.toString(), reason }, "dead-lettered");
    }
  }

  const heldWithoutWatermark = () =>
    new Error("process returned hold() but the service has no commitWatermark: its offsets would be committed before it is safe");

  return async function handleBatch(batch: BatchHandle): Promise<void> {
    const input = topicByName(batch.topic);
    if (!input) throw new Error(`topic ${batch.topic} is not in the topic table`);
    const log = opts.logger.child({ topic: batch.topic, partition: batch.partition });
    const messages = batch.messages;
    const received = now();
    for (const m of messages) {
      const ts = Number(m.timestamp);
      if (Number.isFinite(ts) && ts > 0) opts.metrics.inputAge.observe({ topic: batch.topic }, Math.max(0, received - ts) / 1000);
    }
    const perInput = opts.process !== undefined;
    // A slot is one input (process) or one sub-batch (processBatch): the unit that is processed,
    // sent and acknowledged as a whole.
    const slotSize = perInput ? 1 : opts.subBatchSize;
    const slotCount = Math.ceil(messages.length / slotSize);
    const lastOffsetOf = (slot: number) => messages[Math.min(messages.length, (slot + 1) * slotSize) - 1]!.offset;
    const limit = perInput ? Math.max(1, opts.concurrency) : 1;
    const ahead = perInput ? Math.max(1, opts.subBatchSize) : 2;

    const acked: boolean[] = new Array<boolean>(slotCount).fill(false);
    let prefix = 0; // slots [0, prefix) are acknowledged and resolved
    let started = 0;
    let processing = 0;
    let outstanding = 0; // entries in the send queue, not yet acknowledged, dropped or failed
    let failure: { error: unknown } | undefined;
    let failedAt = Infinity; // slots after it are not sent: the batch is re-delivered from before it

    let waiter: (() => void) | undefined;
    const changed = () => new Promise<void>((r) => (waiter = r));
    const notify = () => {
      const w = waiter;
      waiter = undefined;
      w?.();
    };

    let committing: Promise<void> | undefined;
    let commitAgain = false;
    const commit = () => {
      if (committing) {
        commitAgain = true;
        return;
      }
      committing = (async () => {
        try {
          do {
            commitAgain = false;
            await batch.commitOffsetsIfNecessary();
          } while (commitAgain);
        } catch (err) {
          fail(prefix, err);
        } finally {
          committing = undefined;
          notify();
        }
      })();
    };

    function fail(slot: number, error: unknown): void {
      if (slot < failedAt) failedAt = slot;
      failure ??= { error };
      notify();
    }

    function ack(slot: number): void {
      acked[slot] = true;
      if (slot !== prefix) return;
      while (prefix < slotCount && acked[prefix]) prefix++;
      const last = lastOffsetOf(prefix - 1);
      // With a watermark, resolving only moves the fetch position; what is committed is decided there.
      batch.resolveOffset(last);
      if (opts.watermark) opts.watermark.consumed(batch.topic, batch.partition, last);
      else commit();
      notify();
    }

    function enqueue(slot: number, records: ProducedRecord[], inputs: number): void {
      if (records.length === 0) return ack(slot);
      outstanding++;
      sends.push({
        records,
        inputs,
        live: () => slot < failedAt,
        done: (r) => {
          outstanding--;
          if (r.acked) ack(slot);
          else if ("error" in r) fail(slot, r.error);
          notify();
        },
      });
    }

    // Outputs of one key leave in input order: an input's records wait for the previous input of its key.
    const tails = new Map<string, Promise<void>>();

    async function runInput(slot: number): Promise<void> {
      const msg = messages[slot]!;
      const key = msg.key === null ? "" : msg.key.toString("latin1");
      const before = tails.get(key);
      let release!: () => void;
      const mine = new Promise<void>((r) => (release = r));
      tails.set(key, mine);
      let busy = true;
      try {
        const d = await decode<T>(opts.serde, input!, batch.partition, msg, now);
        const outcome = await runOne(opts, opts.process!, d, log);
        if (outcome.held !== undefined && !opts.watermark) throw heldWithoutWatermark();
        const records: ProducedRecord[] = [];
        recordsOf(d, outcome, batch.topic, batch.partition, log, records);
        busy = false;
        processing--;
        notify();
        if (before) await before;
        if (slot >= failedAt) return;
        if (failure === undefined) opts.health?.recover("process");
        enqueue(slot, records, 1);
      } catch (err) {
        fail(slot, err);
      } finally {
        if (busy) {
          processing--;
          notify();
        }
        release();
        if (tails.get(key) === mine) tails.delete(key);
      }
    }

    async function runSubBatch(slot: number): Promise<void> {
      try {
        const chunk = messages.slice(slot * slotSize, (slot + 1) * slotSize);
        const accepted = opts.acceptKey ? chunk.filter((m) => opts.acceptKey!(m.key)) : chunk;
        const decoded = await Promise.all(accepted.map((msg) => decode<T>(opts.serde, input!, batch.partition, msg, now)));
        const outcomes = await runBatch(opts, opts.processBatch!, decoded, log);
        if (!opts.watermark && outcomes.some((o) => o.held !== undefined)) throw heldWithoutWatermark();
        const records: ProducedRecord[] = [];
        decoded.forEach((d, i) => recordsOf(d, outcomes[i]!, batch.topic, batch.partition, log, records));
        if (slot >= failedAt) return;
        if (failure === undefined) opts.health?.recover("process");
        enqueue(slot, records, chunk.length);
      } catch (err) {
        fail(slot, err);
      } finally {
        processing--;
        notify();
      }
    }

    // Long provider calls must not cost the group membership.
    const beat = setInterval(() => void batch.heartbeat().catch(() => undefined), 3_000);
    const running: Promise<void>[] = [];
    try {
      while (started < slotCount && failure === undefined && batch.isRunning() && !batch.isStale()) {
        if (processing >= limit || started - prefix >= ahead) {
          await changed();
          continue;
        }
        const slot = started++;
        if (perInput) {
          const msg = messages[slot]!;
          opts.metrics.consumed.inc({ topic: batch.topic });
          // Passed over undecoded: nothing to send, its offset advances with the others.
          if (opts.acceptKey && !opts.acceptKey(msg.key)) {
            ack(slot);
            continue;
          }
        } else {
          opts.metrics.consumed.inc({ topic: batch.topic }, Math.min(slotSize, messages.length - slot * slotSize));
        }
        processing++;
        running.push(perInput ? runInput(slot) : runSubBatch(slot));
      }
      await Promise.all(running);
      while (outstanding > 0 || committing) await changed();
    } finally {
      clearInterval(beat);
    }
    if (failure !== undefined) throw failure.error;
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
