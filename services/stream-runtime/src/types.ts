import type { TopicSpec } from "@costwise/schemas";
import type { Logger } from "./logger.ts";
import type { Outcome } from "./outcome.ts";

/** A consumed message as the transport hands it over: raw bytes plus where it came from. */
export interface RawMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer | string | undefined>>;
  readonly offset: string;
  readonly timestamp: string;
}

/** A decoded input with its provenance. */
export interface Envelope<T> {
  readonly value: T;
  readonly key: string | null;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly receivedAt: number;
}

export interface ProcessContext {
  readonly logger: Logger;
  readonly envelope: Envelope<unknown>;
  /** Aborted when the service is shutting down hard; long calls should pass it on. */
  readonly signal: AbortSignal;
}

/** A service's business logic for one record. Throwing means "transient, retry". */
export type ProcessFn<T> = (value: T, ctx: ProcessContext) => Promise<Outcome>;

/**
 * For services that must see a whole sub-batch at once (the ClickHouse sink): returns one
 * outcome per envelope, in order. Throwing retries the whole sub-batch.
 */
export type BatchProcessFn<T> = (
  batch: readonly Envelope<T>[],
  ctx: { logger: Logger; signal: AbortSignal },
) => Promise<readonly Outcome[]>;

export interface StreamInput {
  readonly topics: readonly TopicSpec[];
}
