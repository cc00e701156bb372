import type { RawMessage } from "./types.ts";

/** A record ready to produce: bytes already encoded. */
export interface ProducedRecord {
  readonly topic: string;
  readonly key: string | null;
  readonly value: Buffer;
  readonly headers?: Record<string, string | Buffer>;
}

/** Where outputs go. `send` resolves only once every record is acknowledged by all in-sync replicas. */
export interface ProducerPort {
  send(records: readonly ProducedRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** One partition's worth of messages plus the controls of the at-least-once loop. */
export interface BatchHandle {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly RawMessage[];
  resolveOffset(offset: string): void;
  heartbeat(): Promise<void>;
  commitOffsetsIfNecessary(): Promise<void>;
  isRunning(): boolean;
  isStale(): boolean;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** `offset` is the next offset to consume (Kafka's committed-offset convention). */
export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: string;
}

export interface ConsumerPort {
  /** Deliver batches to `handler` until stopped. A handler that throws gets the uncommitted messages again. */
  run(handler: (batch: BatchHandle) => Promise<void>): Promise<void>;
  /** Stop fetching, let the running handler finish, commit what was resolved, leave the group. */
  stop(): Promise<void>;
  /** True once the consumer has joined its group and is fetching. */
  ready(): boolean;
  /**
   * Commit exactly these offsets. Only consumers created for manual commits have it: resolving an
   * offset then moves the fetch position, and nothing is committed unless committed here.
   */
  commit?(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Called with the partitions this member owns after every (re)join of the group. */
  onAssignment?(listener: (assigned: readonly TopicPartition[]) => void): void;
}
