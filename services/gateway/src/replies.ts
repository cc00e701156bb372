import type { LlmResponse } from "@costwise/schemas";

interface Waiter {
  readonly resolve: (r: LlmResponse) => void;
  readonly reject: (e: Error) => void;
  readonly durable: boolean;
}

/**
 * How a replica gets the answers to the calls it produced, with no shared hot spot: every replica
 * reads llm.responses in a consumer group of its own and owns the request ids it minted, which carry
 * its replica id (`gw.<replica>.<uuid>`). The message key is the request id, so the runtime passes
 * over other replicas' responses without decoding them (`acceptKey`), and an owned response resolves
 * the in-memory waiters of its HTTP calls.
 *
 * Responses to calls that must outlive the HTTP call (an Idempotency-Key, a batch call, a waiter that
 * gave up, a replica restart) are also written to Redis by the owner, where any replica finds them.
 */
export class ReplyHub {
  readonly prefix: string;
  private readonly prefixBytes: Buffer;
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(readonly replicaId: string) {
    this.prefix = `gw.${replicaId}.`;
    this.prefixBytes = Buffer.from(this.prefix, "utf8");
  }

  newRequestId(uuid: string): string {
    return `${this.prefix}${uuid}`;
  }

  ownsKey(key: Buffer | null): boolean {
    const n = this.prefixBytes.length;
    // compare() over the ranges: no slice is allocated for the many keys that are not ours.
    return key !== null && key.length > n && key.compare(this.prefixBytes, 0, n, 0, n) === 0;
  }

  owns(requestId: string): boolean {
    return requestId.startsWith(this.prefix);
  }

  /** Calls waiting for an answer. */
  get waiting(): number {
    let n = 0;
    for (const list of this.waiters.values()) n += list.length;
    return n;
  }

  /**
   * Wait for the response to `requestId` (register before producing, so a fast answer is not missed).
   * `durable`: the response must also be stored for later readers (a retry of the same key).
   */
  expect(requestId: string, durable: boolean): { response: Promise<LlmResponse>; cancel: () => void } {
    let waiter!: Waiter;
    const response = new Promise<LlmResponse>((resolve, reject) => {
      waiter = { resolve, reject, durable };
    });
    const list = this.waiters.get(requestId) ?? [];
    list.push(waiter);
    this.waiters.set(requestId, list);
    const cancel = () => {
      const l = this.waiters.get(requestId);
      if (!l) return;
      const rest = l.filter((w) => w !== waiter);
      if (rest.length > 0) this.waiters.set(requestId, rest);
      else this.waiters.delete(requestId);
    };
    return { response, cancel };
  }

  /** Hand an owned response to its waiters. `store`: nobody reads it from memory alone, so it must go to Redis. */
  deliver(resp: LlmResponse): { delivered: number; store: boolean } {
    const list = this.waiters.get(resp.request_id);
    if (!list) return { delivered: 0, store: true };
    this.waiters.delete(resp.request_id);
    for (const w of list) w.resolve(resp);
    return { delivered: list.length, store: list.some((w) => w.durable) };
  }

  /** Fail every waiter (shutdown): their calls are answered with a retryable error. */
  failAll(err: Error): number {
    const n = this.waiting;
    const all = [...this.waiters.values()].flat();
    this.waiters.clear();
    for (const w of all) w.reject(err);
    return n;
  }
}
