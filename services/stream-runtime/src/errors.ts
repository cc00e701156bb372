/**
 * The runtime's error vocabulary. Classification is by class (instanceof), never by message text:
 * - PoisonMessageError / SchemaError: the input can never succeed → dead-letter, move on.
 * - TransientError (and anything unclassified thrown by process): retry with backoff; if it
 *   still fails, the batch is not committed and is delivered again.
 */
export class CostwiseError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that no retry can fix (bad bytes, invalid record, business-rule rejection). */
export class PoisonMessageError extends CostwiseError {}

/** Avro decode/encode failure, or a schema the registry does not know. */
export class SchemaError extends PoisonMessageError {}

/** A failure worth retrying; `retryAfterMs` lets a dependency say when. */
export class TransientError extends CostwiseError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: ErrorOptions & { retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Configuration that cannot work; raised at startup, before any message is consumed. */
export class ConfigError extends CostwiseError {}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
