import { createHash } from "node:crypto";
import type { Provider } from "@costwise/pricing";
import { ENVELOPE_BYTES, type BatchLimits } from "./limits.ts";
import { HeldOffsets } from "./offsets.ts";
import { submitBy, type DeadlinePolicy } from "./policy.ts";

export type FlushReason = "count" | "bytes" | "age" | "deadline" | "capacity";

/** One accepted request, in memory until its batch is submitted. */
export interface Pending {
  readonly requestId: string;
  readonly customId: string;
  readonly provider: Provider;
  readonly model: string;
  /** Where it was read from: its offset is held until the batch holding it is submitted. */
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: number };
  readonly acceptedAt: number;
  readonly deadline: number | null;
  /** 1 for a request's first batch; retries of failed lines come back with 2, 3, ... */
  readonly attempt: number;
  /** The provider batch line (JSON). */
  readonly line: string;
  readonly lineBytes: number;
  /** The request as stored with the batch (see stored.ts). */
  readonly stored: string;
}

/** An accumulation that stopped taking requests and is on its way to the provider. */
export interface ClosedBatch {
  /** Deterministic: the same requests in the same order always get the same id. */
  readonly id: string;
  readonly provider: Provider;
  readonly model: string;
  readonly entries: readonly Pending[];
  readonly bytes: number;
  readonly openedAt: number;
  readonly closedAt: number;
  readonly reason: FlushReason;
  readonly earliestDeadline: number | null;
}

export interface AccumulatorSettings {
  readonly maxAgeMs: number;
  readonly limits: (provider: Provider) => BatchLimits;
  readonly policy: DeadlinePolicy;
}

interface Open {
  readonly provider: Provider;
  readonly model: string;
  readonly entries: Pending[];
  bytes: number;
  readonly openedAt: number;
  dueAt: number;
  /** dueAt was pulled in by a request's deadline (rather than the age limit). */
  deadlineDue: boolean;
  earliestDeadline: number | null;
}

export type AddStatus = "held" | "already-held" | "duplicate";

/** The bytes a batch of `count` lines totalling `lineBytes` takes at the provider. */
export function batchBytes(lineBytes: number, count: number): number {
  return lineBytes + count + ENVELOPE_BYTES;
}

export function batchIdOf(provider: Provider, model: string, requestIds: readonly string[]): string {
  const h = createHash("sha256").update(`${provider}\n${model}\n`);
  for (const id of requestIds) h.update(id).update("\n");
  return `cwb_${h.digest("base64url").slice(0, 24)}`;
}

/**
 * Open batches per provider + model, and every accepted request until its batch is submitted.
 * Pure bookkeeping over an injected clock: no I/O. A batch closes when it is full (count or
 * bytes), when it is as old as `maxAgeMs`, or when the earliest deadline inside leaves just the
 * provider's turnaround, whichever comes first.
 */
export class Accumulator {
  private readonly open = new Map<string, Open>();
  private readonly inMemory = new Map<string, Pending>();
  private readonly heldOffsets = new Map<string, HeldOffsets>();

  constructor(private readonly settings: AccumulatorSettings) {}

  /** Requests in memory: open batches plus closed ones not yet submitted. */
  get size(): number {
    return this.inMemory.size;
  }

  get openBatches(): number {
    return this.open.size;
  }

  /** Whether a single line fits in a batch at all. */
  fits(provider: Provider, lineBytes: number): boolean {
    return batchBytes(lineBytes, 1) <= this.settings.limits(provider).maxBytes;
  }

  add(p: Pending, now: number): { status: AddStatus; closed: ClosedBatch[] } {
    const known = this.inMemory.get(p.requestId);
    if (known) {
      const same = known.source.topic === p.source.topic && known.source.partition === p.source.partition && known.source.offset === p.source.offset;
      // The same message again (redelivery) is already held; another copy of the request is redundant.
      return { status: same ? "already-held" : "duplicate", closed: [] };
    }
    const limits = this.settings.limits(p.provider);
    const key = `${p.provider}/${p.model}`;
    const closed: ClosedBatch[] = [];
    let o = this.open.get(key);
    if (o && batchBytes(o.bytes + p.lineBytes, o.entries.length + 1) > limits.maxBytes) {
      closed.push(this.close(key, o, "bytes", now));
      o = undefined;
    }
    if (!o) {
      o = { provider: p.provider, model: p.model, entries: [], bytes: 0, openedAt: now, dueAt: now + this.settings.maxAgeMs, deadlineDue: false, earliestDeadline: null };
      this.open.set(key, o);
    }
    o.entries.push(p);
    o.bytes += p.lineBytes;
    if (p.deadline !== null && (o.earliestDeadline === null || p.deadline < o.earliestDeadline)) o.earliestDeadline = p.deadline;
    const by = submitBy(p.deadline, this.settings.policy);
    if (by !== null && by < o.dueAt) {
      o.dueAt = by;
      o.deadlineDue = true;
    }
    this.inMemory.set(p.requestId, p);
    this.offsetsOf(p.source.topic, p.source.partition).add(p.source.offset);
    if (o.entries.length >= limits.maxRequests) closed.push(this.close(key, o, "count", now));
    return { status: "held", closed };
  }

  /** Close every batch whose age limit or deadline has come. */
  due(now: number): ClosedBatch[] {
    const out: ClosedBatch[] = [];
    for (const [key, o] of this.open) if (o.dueAt <= now) out.push(this.close(key, o, o.deadlineDue ? "deadline" : "age", now));
    return out;
  }

  /** When the next batch falls due, or null when none is open. */
  nextDueAt(): number | null {
    let next: number | null = null;
    for (const o of this.open.values()) if (next === null || o.dueAt < next) next = o.dueAt;
    return next;
  }

  /** Memory is full: close the largest open batch early. */
  closeLargest(now: number): ClosedBatch | null {
    let best: [string, Open] | undefined;
    for (const e of this.open) if (!best || e[1].entries.length > best[1].entries.length) best = e;
    return best ? this.close(best[0], best[1], "capacity", now) : null;
  }

  /** The batch holding these requests was submitted (or otherwise made durable): forget them. */
  release(entries: readonly Pending[]): void {
    for (const p of entries) {
      if (this.inMemory.get(p.requestId) !== p) continue;
      this.inMemory.delete(p.requestId);
      this.offsetsOf(p.source.topic, p.source.partition).release(p.source.offset);
    }
  }

  /** The lowest offset of the partition still held, as the runtime's commit watermark wants it. */
  watermark(topic: string, partition: number): string | null {
    const min = this.heldOffsets.get(`${topic}\u0000${partition}`)?.min() ?? null;
    return min === null ? null : String(min);
  }

  private offsetsOf(topic: string, partition: number): HeldOffsets {
    const k = `${topic}\u0000${partition}`;
    let h = this.heldOffsets.get(k);
    if (!h) this.heldOffsets.set(k, (h = new HeldOffsets()));
    return h;
  }

  private close(key: string, o: Open, reason: FlushReason, now: number): ClosedBatch {
    this.open.delete(key);
    return {
      id: batchIdOf(o.provider, o.model, o.entries.map((e) => e.requestId)),
      provider: o.provider,
      model: o.model,
      entries: o.entries,
      bytes: batchBytes(o.bytes, o.entries.length),
      openedAt: o.openedAt,
      closedAt: now,
      reason,
      earliestDeadline: o.earliestDeadline,
    };
  }
}
