import { Consumer, ListOffsetTimestamps, MessagesStreamFallbackModes, MessagesStreamModes, type Message, type MessagesStream } from "@platformatic/kafka";
import { withDeadline } from "./deadline.ts";
import { CostwiseError, errorMessage } from "./errors.ts";
import { DEFAULT_FETCH_MAX_BYTES, DEFAULT_FETCH_PARTITION_MAX_BYTES, type KafkaConsumerOptions, type KafkaTimeouts } from "./kafka-transport.ts";
import type { BatchHandle, ConsumerPort, TopicPartition, TopicPartitionOffset } from "./transport.ts";
import type { RawMessage } from "./types.ts";

export interface PlatformaticConsumerOptions extends KafkaConsumerOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Connecting to one broker and one request, as createKafka takes them (KAFKA_CONNECT_TIMEOUT_MS, KAFKA_REQUEST_TIMEOUT_MS). */
  readonly kafka?: KafkaTimeouts;
}

/** The consumer cannot go on (its stream keeps failing, or the group cannot be rejoined): only a new process recovers. */
export class ConsumerFailedError extends CostwiseError {}

/** The library's own retries of one request; the deadlines here bound them all. */
const RETRIES = 8;
const RETRY_DELAY_MS = 300;
/** As kafkajs with autoCommitInterval 500: in-batch commits at most this often (and one after every batch). */
const AUTO_COMMIT_INTERVAL_MS = 500;
/** A failed batch is delivered again after this backoff, as kafkajs's retrier does (300 ms, doubling). */
const REDELIVERY_INITIAL_MS = 300;
const REDELIVERY_MAX_MS = 30_000;
/** A stream that fails this many times in a row, each new one failing within a minute of the last, is fatal. */
const STREAM_FAILURES = 5;

type TP = `${string}:${number}`;
/** The library keys its fetch positions the same way. */
const tpKey = (topic: string, partition: number): TP => `${topic}:${partition}`;

/** A partition this member owns in the current generation; replaced by a new object when it is assigned again. */
interface Owned {
  readonly topic: string;
  readonly partition: number;
  /** Accepted, not yet given to a handler, in offset order. */
  readonly queue: RawMessage[];
  queuedBytes: number;
  /** Offset after the last accepted message: the stream re-reads from the commit after a rejoin, and those are dropped. */
  next: bigint | undefined;
  /** Offset of the first accepted message of this ownership. */
  first: bigint | undefined;
  /** Offset after the last one a handler resolved: the commit point (the fetch position with manual commits). */
  resolved: bigint | undefined;
  committed: bigint | undefined;
  busy: boolean;
  failures: number;
  redeliver: NodeJS.Timeout | undefined;
}

const sizeOf = (m: RawMessage) => (m.key?.length ?? 0) + (m.value?.length ?? 0) + 64;

/**
 * The partitions a fetch was answered OFFSET_OUT_OF_RANGE for, by topic id (fetch v13+ names topics
 * so), found in the library's error: a ResponseError carries the parsed response and one
 * ProtocolError per failed partition, with its path in that response; retries wrap it in MultipleErrors.
 */
export function outOfRangePartitions(err: unknown, response?: unknown): { topicId: string; partition: number }[] {
  if (!(err instanceof Error)) return [];
  const e = err as Error & { apiId?: unknown; path?: unknown; response?: unknown };
  const res = (e.response ?? response) as { responses?: { topicId?: string; partitions?: { partitionIndex?: number }[] }[] } | undefined;
  const found: { topicId: string; partition: number }[] = [];
  const at = e.apiId === "OFFSET_OUT_OF_RANGE" && typeof e.path === "string" ? /^\/responses\/(\d+)\/partitions\/(\d+)$/.exec(e.path) : null;
  if (at) {
    const topic = res?.responses?.[Number(at[1])];
    const partition = topic?.partitions?.[Number(at[2])]?.partitionIndex;
    if (topic?.topicId !== undefined && partition !== undefined) found.push({ topicId: topic.topicId, partition });
  }
  if (err instanceof AggregateError) for (const inner of err.errors) found.push(...outOfRangePartitions(inner, res));
  return found;
}

function toRaw(m: Message): RawMessage {
  const headers: Record<string, Buffer | undefined> = {};
  for (const [k, v] of m.headers) headers[k.toString()] = v ?? undefined;
  return { key: m.key ?? null, value: m.value ?? null, headers, offset: m.offset.toString(), timestamp: m.timestamp.toString() };
}

/**
 * The ConsumerPort on @platformatic/kafka, with kafkaConsumer's semantics. The library hands over
 * one message stream for all assigned partitions, heartbeats on its own timer and rejoins the group
 * by itself; batching per partition, concurrency, offsets and re-delivery are done here:
 *
 * - Messages are queued per partition; at most `partitionsConsumedConcurrently` handlers run, one per
 *   partition, and a partition's next batch waits for its previous handler (order within a partition).
 * - Only resolved offsets are committed (resolveOffset(o) commits o + 1): in the background, during a
 *   batch at most every 500 ms, after every batch and at stop. With `manualCommit`, only `commit()` does.
 * - The fetch position is the resolved offset, as in kafkajs: a handler's unresolved messages come again.
 *   The library has no seek, and a new stream would cost a group rejoin, so they come from memory (they
 *   were kept), ahead of what arrived since; after a handler that threw, following a backoff.
 * - After every (re)join the library re-reads owned partitions from their commits; what this member
 *   already accepted is dropped on arrival. A revoked partition's queue is dropped, its running batch
 *   goes stale, and its fetch position is moved back to the first message not resolved here: the
 *   library keeps its own position for a partition without a commit, which would otherwise skip them
 *   if the partition came back.
 * - Fetching pauses while twice a fetch's bytes wait for handlers (bounded memory under slow handlers).
 */
export async function platformaticConsumer(opts: PlatformaticConsumerOptions): Promise<ConsumerPort> {
  const log = opts.logger.child({ component: "platformatic-consumer", groupId: opts.groupId });
  const sessionTimeout = opts.sessionTimeoutMs ?? 30_000;
  const rebalanceTimeout = Math.max(60_000, sessionTimeout);
  const requestMs = opts.kafka?.requestTimeoutMs ?? 30_000;
  const connectMs = opts.connectTimeoutMs ?? 30_000;
  const manual = opts.manualCommit ?? false;
  const fetchMaxBytes = opts.fetch?.maxBytes ?? DEFAULT_FETCH_MAX_BYTES;
  const partitionMaxBytes = opts.fetch?.maxBytesPerPartition ?? DEFAULT_FETCH_PARTITION_MAX_BYTES;
  // Fetching pauses while this much waits for handlers, and resumes below half of it.
  const bufferMaxBytes = 2 * fetchMaxBytes;
  // A batch is what one partition has waiting, up to one partition's fetch.
  const batchMaxBytes = partitionMaxBytes;
  const fetchOptions = {
    minBytes: opts.fetch?.minBytes ?? 1,
    maxWaitTime: opts.fetch?.maxWaitMs ?? 100,
    maxBytes: fetchMaxBytes,
    maxBytesPerPartition: partitionMaxBytes,
  };
  const consumer = new Consumer({
    clientId: opts.clientId,
    bootstrapBrokers: [...opts.brokers],
    groupId: opts.groupId,
    sessionTimeout,
    rebalanceTimeout,
    // Kafka's guidance: heartbeat at most a third of the session timeout.
    heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
    autocommit: false,
    connectTimeout: opts.kafka?.connectTimeoutMs ?? 5_000,
    requestTimeout: requestMs,
    timeout: requestMs,
    retries: RETRIES,
    retryDelay: RETRY_DELAY_MS,
    ...fetchOptions,
  });
  const forceClose = () => new Promise<void>((resolve, reject) => consumer.close(true, (err) => (err ? reject(err) : resolve())));
  // A broker that is down, or a topic that does not exist, fails the start-up step rather than the join.
  try {
    await withDeadline(`kafka: connect the consumer (topics ${opts.topics.join(", ")})`, connectMs, () => consumer.metadata({ topics: [...opts.topics] }));
  } catch (err) {
    await withDeadline("kafka: close the consumer", requestMs, forceClose).catch(() => undefined);
    throw err;
  }

  const owned = new Map<TP, Owned>();
  /** Positions to fetch a partition from when it is ours again: the first message dropped unresolved. */
  const rewound = new Map<TP, bigint>();
  /** Owned partitions with messages waiting for a handler slot, in the order they became ready. */
  const waiting = new Set<Owned>();
  const assignmentListeners: ((assigned: readonly TopicPartition[]) => void)[] = [];
  let handler: ((batch: BatchHandle) => Promise<void>) | undefined;
  let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  let paused = false;
  let dispatchQueued = false;
  let buffered = 0;
  let running = 0;
  let idle: (() => void) | undefined;
  let joined = false;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  let fatal: string | undefined;
  let streamFailures = 0;
  let lastStreamFailure = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let lastCommitAt = 0;
  let commitChain: Promise<void> = Promise.resolve();

  const fail = (reason: string) => {
    if (fatal !== undefined || stopping) return;
    fatal = reason;
    log.error({ reason }, "consumer failed and will not recover");
    opts.onFatal?.(reason);
  };

  const rewind = (k: TP, offset: bigint) => {
    const at = rewound.get(k);
    const to = at === undefined || offset < at ? offset : at;
    rewound.set(k, to);
    stream?.offsetsToFetch.set(k, to);
  };

  const unbuffer = (bytes: number) => {
    buffered -= bytes;
    if (paused && buffered < bufferMaxBytes / 2 && !stopping) {
      paused = false;
      stream?.resume();
    }
  };

  function revoke(k: TP, s: Owned): void {
    owned.delete(k);
    waiting.delete(s);
    clearTimeout(s.redeliver);
    const from = s.resolved ?? s.first;
    if (from !== undefined) rewind(k, from);
    const bytes = s.queuedBytes;
    s.queue.length = 0;
    s.queuedBytes = 0;
    unbuffer(bytes);
  }

  consumer.on("consumer:group:join", (e) => {
    const assigned = (e.assignments ?? []).flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition })));
    const keys = new Set(assigned.map((tp) => tpKey(tp.topic, tp.partition)));
    for (const [k, s] of owned) if (!keys.has(k)) revoke(k, s);
    for (const tp of assigned) {
      const k = tpKey(tp.topic, tp.partition);
      if (!owned.has(k)) {
        owned.set(k, { ...tp, queue: [], queuedBytes: 0, next: undefined, first: undefined, resolved: undefined, committed: undefined, busy: false, failures: 0, redeliver: undefined });
      }
    }
    joined = true;
    log.info({ generationId: e.generationId, assigned: assigned.length }, "joined the group");
    for (const l of assignmentListeners) l(assigned);
  });
  consumer.on("error", (err: Error) => fail(`consumer lost its group membership and could not rejoin: ${errorMessage(err)}`));

  async function commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await withDeadline(`kafka: commit offsets of ${offsets.length} partition(s)`, requestMs, () =>
      consumer.commit({ offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: -1 })) }),
    );
  }

  /** Commit every owned partition's resolved offset not committed yet; calls are serialised. */
  function commitResolved(): Promise<void> {
    const run = commitChain.then(async () => {
      const due = [...owned.values()].filter((s) => s.resolved !== undefined && (s.committed === undefined || s.resolved > s.committed));
      if (due.length === 0) return;
      const offsets = due.map((s) => ({ s, offset: s.resolved! }));
      await commitOffsets(offsets.map(({ s, offset }) => ({ topic: s.topic, partition: s.partition, offset: offset.toString() })));
      lastCommitAt = Date.now();
      for (const { s, offset } of offsets) if (s.committed === undefined || offset > s.committed) s.committed = offset;
    });
    commitChain = run.catch(() => undefined);
    return run;
  }
  const commitInBackground = () =>
    void commitResolved().catch((err: unknown) => log.warn({ err: errorMessage(err) }, "commit failed; retried with the next one"));
  const committing = manual ? undefined : setInterval(commitInBackground, AUTO_COMMIT_INTERVAL_MS);
  committing?.unref();

  function onMessage(m: Message): void {
    const k = tpKey(m.topic, m.partition);
    const s = owned.get(k);
    if (!s) {
      // Fetched before the partition was revoked: someone else's now, to be read again if it comes back.
      rewind(k, m.offset);
      return;
    }
    if (s.next !== undefined && m.offset < s.next) return;
    s.next = m.offset + 1n;
    s.first ??= m.offset;
    rewound.delete(k);
    const raw = toRaw(m);
    const bytes = sizeOf(raw);
    s.queue.push(raw);
    s.queuedBytes += bytes;
    buffered += bytes;
    if (buffered >= bufferMaxBytes && !paused) {
      paused = true;
      stream?.pause();
    }
    if (!s.busy && s.redeliver === undefined) waiting.add(s);
    // The stream emits a whole fetch response in one go: it makes one batch, not one per message.
    if (!dispatchQueued) {
      dispatchQueued = true;
      queueMicrotask(() => {
        dispatchQueued = false;
        dispatch();
      });
    }
  }

  function dispatch(): void {
    if (!handler || stopping) return;
    for (const s of waiting) {
      if (running >= opts.partitionsConsumedConcurrently) return;
      waiting.delete(s);
      if (owned.get(tpKey(s.topic, s.partition)) !== s || s.busy || s.queue.length === 0) continue;
      void deliver(s, handler);
    }
  }

  async function deliver(s: Owned, h: (batch: BatchHandle) => Promise<void>): Promise<void> {
    const k = tpKey(s.topic, s.partition);
    let bytes = 0;
    let n = 0;
    while (n < s.queue.length && (n === 0 || bytes + sizeOf(s.queue[n]!) <= batchMaxBytes)) bytes += sizeOf(s.queue[n++]!);
    const messages = s.queue.splice(0, n);
    s.queuedBytes -= bytes;
    unbuffer(bytes);
    s.busy = true;
    running++;
    const current = () => owned.get(k) === s;
    const handle: BatchHandle = {
      topic: s.topic,
      partition: s.partition,
      messages,
      resolveOffset: (offset) => {
        if (!current()) return;
        const next = BigInt(offset) + 1n;
        if (s.resolved === undefined || next > s.resolved) s.resolved = next;
      },
      // The library heartbeats on its own timer, whatever the handlers do.
      heartbeat: async () => undefined,
      commitOffsetsIfNecessary: async () => {
        if (!manual && Date.now() - lastCommitAt >= AUTO_COMMIT_INTERVAL_MS) await commitResolved();
      },
      isRunning: () => !stopping,
      isStale: () => !current(),
    };
    let failure: { err: unknown } | undefined;
    try {
      await h(handle);
    } catch (err) {
      failure = { err };
    }
    if (current() && !stopping) {
      // The fetch position is the resolved offset, as in kafkajs: what the handler did not resolve
      // comes again, ahead of what arrived since; after a failure, following a backoff.
      const from = s.resolved ?? 0n;
      const again = messages.filter((m) => BigInt(m.offset) >= from);
      const againBytes = again.reduce((sum, m) => sum + sizeOf(m), 0);
      s.queue.unshift(...again);
      s.queuedBytes += againBytes;
      buffered += againBytes;
      if (failure) {
        const delay = Math.min(REDELIVERY_MAX_MS, REDELIVERY_INITIAL_MS * 2 ** s.failures++);
        log.error({ err: errorMessage(failure.err), topic: s.topic, partition: s.partition, redeliver: again.length, delayMs: delay }, "batch failed; its unresolved messages are delivered again");
        s.redeliver = setTimeout(() => {
          s.redeliver = undefined;
          waiting.add(s);
          dispatch();
        }, delay);
      } else {
        s.failures = 0;
      }
    } else if (failure) {
      log.warn({ err: errorMessage(failure.err), topic: s.topic, partition: s.partition }, "batch failed after its partition was revoked or the consumer stopped");
    }
    s.busy = false;
    running--;
    if (!manual && current()) commitInBackground();
    if (current() && s.queue.length > 0 && s.redeliver === undefined) waiting.add(s);
    if (running === 0) idle?.();
    dispatch();
  }

  async function openStream(): Promise<void> {
    const opening = consumer.consume({
      topics: [...opts.topics],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: opts.fromBeginning ?? true ? MessagesStreamFallbackModes.EARLIEST : MessagesStreamFallbackModes.LATEST,
      autocommit: false,
      ...fetchOptions,
    });
    let s: MessagesStream<Buffer, Buffer, Buffer, Buffer>;
    try {
      // Joining waits for the other members, up to the rebalance timeout.
      s = await withDeadline(`kafka: join group ${opts.groupId} and start fetching`, rebalanceTimeout + requestMs, () => opening);
    } catch (err) {
      void opening.then((late) => late.close(), () => undefined);
      throw err;
    }
    if (stopping) {
      await withDeadline("kafka: close the message stream", requestMs, () => s.close());
      return;
    }
    // A new stream starts from the commits, or for a partition without one from the fallback: what
    // this member already accepted, or dropped unresolved, is where it must go on from instead.
    for (const [k, at] of rewound) s.offsetsToFetch.set(k, at);
    for (const [k, o] of owned) if (o.next !== undefined) s.offsetsToFetch.set(k, o.next);
    s.on("data", onMessage);
    s.on("error", (err: Error) => onStreamError(s, err));
    s.on("close", () => onStreamError(s, new ConsumerFailedError("the message stream closed")));
    stream = s;
    if (paused) s.pause();
  }

  function onStreamError(s: MessagesStream<Buffer, Buffer, Buffer, Buffer>, err: unknown): void {
    if (stream !== s || stopping) return;
    stream = undefined;
    s.removeAllListeners("data");
    const outOfRange = outOfRangePartitions(err);
    if (outOfRange.length === 0) {
      reopen(err);
      return;
    }
    // Not a failure of the stream but a position the log no longer has (retention, deleteRecords) or
    // not yet: the library would fetch it again and again. Reset as kafkajs does and go on at once;
    // only a reset that cannot be made counts towards onFatal.
    resetOutOfRange(s, outOfRange)
      .then(() => (stopping ? undefined : openStream()))
      .catch((e: unknown) => (stopping ? undefined : reopen(e)));
  }

  /**
   * Move the out-of-range partitions to their earliest offset (fromBeginning) or latest, and commit
   * it, as kafkajs does (setDefaultOffset): a new stream costs a rejoin, and after every join the
   * library reads positions from the group's commits, so a position set only here would be
   * replaced by the out-of-range commit.
   */
  async function resetOutOfRange(s: MessagesStream<Buffer, Buffer, Buffer, Buffer>, partitions: readonly { topicId: string; partition: number }[]): Promise<void> {
    const metadata = await withDeadline(`kafka: metadata of topics ${opts.topics.join(", ")}`, requestMs, () => consumer.metadata({ topics: [...opts.topics] }));
    const names = new Map([...metadata.topics].map(([name, t]) => [t.id, name]));
    // Partitions revoked meanwhile are their new owner's to reset.
    const affected = partitions
      .map(({ topicId, partition }) => ({ topic: names.get(topicId), partition }))
      .filter((tp): tp is TopicPartition => tp.topic !== undefined && owned.has(tpKey(tp.topic, tp.partition)));
    if (affected.length === 0) return;
    const earliest = opts.fromBeginning ?? true;
    const byTopic: Record<string, number[]> = {};
    for (const tp of affected) (byTopic[tp.topic] ??= []).push(tp.partition);
    const offsets = await withDeadline(`kafka: list the ${earliest ? "earliest" : "latest"} offsets of ${affected.length} partition(s) out of range`, requestMs, () =>
      consumer.listOffsets({ topics: Object.keys(byTopic), partitions: byTopic, timestamp: earliest ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST }),
    );
    const resets = affected.flatMap((tp) => {
      const to = offsets.get(tp.topic)?.[tp.partition];
      return to === undefined ? [] : [{ ...tp, to }];
    });
    if (resets.length < affected.length) throw new ConsumerFailedError("kafka: the broker listed no offset for a partition out of range");
    await commitOffsets(resets.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.to.toString() })));
    for (const { topic, partition, to } of resets) {
      const k = tpKey(topic, partition);
      log.warn({ topic, partition, from: s.offsetsToFetch.get(k)?.toString(), to: to.toString(), reset: earliest ? "earliest" : "latest" }, "offset out of range: the partition goes on from its reset offset");
      rewound.delete(k);
      const o = owned.get(k);
      if (!o) continue;
      // The commit point and the position are the reset offset; what is still queued is delivered, and resolving it changes nothing.
      o.next = to;
      o.resolved = to;
      o.committed = to;
    }
  }

  /** A failed stream is replaced after a backoff; one that keeps failing is fatal, as a kafkajs crash without restart. */
  function reopen(err: unknown): void {
    const now = Date.now();
    streamFailures = now - lastStreamFailure > 60_000 ? 1 : streamFailures + 1;
    lastStreamFailure = now;
    log.error({ err: errorMessage(err), failures: streamFailures }, "message stream failed");
    if (streamFailures >= STREAM_FAILURES) {
      fail(`message stream failed ${streamFailures} times in a row: ${errorMessage(err)}`);
      return;
    }
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      openStream().catch((e: unknown) => (stopping ? undefined : reopen(e)));
    }, Math.min(REDELIVERY_MAX_MS, 1_000 * 2 ** (streamFailures - 1)));
  }

  return {
    async run(h) {
      if (stopping) throw new ConsumerFailedError("run() on a stopped consumer");
      handler = h;
      await openStream();
    },
    stop() {
      return (stopped ??= (async () => {
        stopping = true;
        clearInterval(committing);
        clearTimeout(restartTimer);
        stream?.pause();
        for (const s of owned.values()) {
          clearTimeout(s.redeliver);
          s.queue.length = 0;
          s.queuedBytes = 0;
        }
        waiting.clear();
        buffered = 0;
        if (running > 0) await new Promise<void>((r) => (idle = r));
        if (!manual) await commitResolved().catch((err: unknown) => log.warn({ err: errorMessage(err) }, "final commit failed; the uncommitted messages are delivered again"));
        const s = stream;
        stream = undefined;
        if (s && !s.destroyed) await withDeadline("kafka: close the message stream", requestMs, () => s.close()).catch((err: unknown) => log.warn({ err: errorMessage(err) }, "closing the stream failed"));
        try {
          await withDeadline("kafka: leave the group and close the consumer", requestMs, () => consumer.close());
        } catch (err) {
          log.warn({ err: errorMessage(err) }, "leaving the group failed; closing the connections");
          await withDeadline("kafka: close the consumer", requestMs, forceClose).catch(() => undefined);
        } finally {
          joined = false;
        }
      })());
    },
    ready: () => joined && fatal === undefined && stream !== undefined && !stopping,
    ...(manual
      ? {
          commit: commitOffsets,
          onAssignment: (listener) => {
            assignmentListeners.push(listener);
          },
        }
      : {}),
  };
}
