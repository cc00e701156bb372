import type { TopicSpec } from "@costwise/schemas";
import { avroType } from "@costwise/schemas";
import { SchemaError } from "../errors.ts";
import type { Serde } from "../serde.ts";
import type { BatchHandle, ConsumerPort, ProducedRecord, ProducerPort, TopicPartition, TopicPartitionOffset } from "../transport.ts";
import type { RawMessage } from "../types.ts";

/**
 * An in-memory broker for unit tests of the loop's rules: re-delivery from the last commit after
 * a failure, commit only after produce, dead-letters. One partition per topic, one consumer group.
 */
export class MemoryBroker {
  private readonly logs = new Map<string, RawMessage[]>();
  readonly committed = new Map<string, number>();
  /** Make the next N sends fail (a broker outage). */
  failSends = 0;

  push(topic: string, value: Buffer | null, opts: { key?: string; headers?: Record<string, string>; timestamp?: number } = {}): void {
    const log = this.log(topic);
    log.push({ key: opts.key === undefined ? null : Buffer.from(opts.key), value, headers: opts.headers ?? {}, offset: String(log.length), timestamp: String(opts.timestamp ?? Date.now()) });
  }

  produced(topic: string): RawMessage[] {
    return [...this.log(topic)];
  }

  log(topic: string): RawMessage[] {
    let l = this.logs.get(topic);
    if (!l) this.logs.set(topic, (l = []));
    return l;
  }

  producer(): ProducerPort {
    return {
      send: async (records: readonly ProducedRecord[]) => {
        if (this.failSends > 0) {
          this.failSends--;
          throw new Error("broker unavailable");
        }
        for (const r of records) {
          const log = this.log(r.topic);
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(r.headers ?? {})) headers[k] = v.toString();
          log.push({ key: r.key === null ? null : Buffer.from(r.key), value: r.value, headers, offset: String(log.length), timestamp: String(Date.now()) });
        }
      },
      close: async () => undefined,
    };
  }

  /**
   * A consumer that delivers everything after the committed offset of each topic in batches of
   * `batchSize`, and re-delivers from the commit when the handler throws (as KafkaJS does on restart).
   * With `manualCommit`, resolving only moves the fetch position (KafkaJS with autoCommit off) and
   * offsets are committed by `commit()` alone; a new consumer starts again from the commit.
   */
  consumer(
    topics: readonly string[],
    opts: { batchSize?: number; maxFailures?: number; manualCommit?: boolean } = {},
  ): ConsumerPort & { drained(): Promise<void>; fetched(): Promise<void>; failures: unknown[] } {
    let running = false;
    let loop: Promise<void> | undefined;
    const failures: unknown[] = [];
    const batchSize = opts.batchSize ?? 50;
    const maxFailures = opts.maxFailures ?? 20;
    const manual = opts.manualCommit ?? false;
    const position = new Map<string, number>();
    const listeners: ((assigned: readonly TopicPartition[]) => void)[] = [];
    const positionOf = (t: string) => position.get(t) ?? this.committed.get(t) ?? 0;
    const pending = () => topics.some((t) => (this.committed.get(t) ?? 0) < this.log(t).length);
    const self = this;
    const port: ConsumerPort & { drained(): Promise<void>; fetched(): Promise<void>; failures: unknown[] } = {
      failures,
      ready: () => running,
      async run(handler) {
        running = true;
        for (const l of listeners) l(topics.map((topic) => ({ topic, partition: 0 })));
        loop = (async () => {
          while (running) {
            let progressed = false;
            for (const topic of topics) {
              const from = positionOf(topic);
              const messages = self.log(topic).slice(from, from + batchSize);
              if (messages.length === 0) continue;
              let resolved: number | undefined;
              const handle: BatchHandle = {
                topic, partition: 0, messages,
                resolveOffset: (o) => { resolved = Number(o); },
                heartbeat: async () => undefined,
                commitOffsetsIfNecessary: async () => { if (!manual && resolved !== undefined) self.committed.set(topic, resolved + 1); },
                isRunning: () => running,
                isStale: () => false,
              };
              try {
                await handler(handle);
                if (manual && resolved !== undefined) position.set(topic, resolved + 1);
                if (!manual) position.delete(topic);
              } catch (err) {
                position.delete(topic);
                failures.push(err);
                if (failures.length >= maxFailures) running = false;
              }
              progressed = true;
            }
            if (!progressed) await new Promise((r) => setTimeout(r, 5));
          }
        })();
      },
      async stop() {
        running = false;
        await loop;
      },
      async drained() {
        while (running && pending()) await new Promise((r) => setTimeout(r, 5));
      },
      /** Every message was handed to the handler and resolved (committed or not). */
      async fetched() {
        while (running && topics.some((t) => positionOf(t) < self.log(t).length)) await new Promise((r) => setTimeout(r, 5));
      },
    };
    if (manual) {
      port.commit = async (offsets: readonly TopicPartitionOffset[]) => {
        for (const o of offsets) self.committed.set(o.topic, Number(o.offset));
      };
      port.onAssignment = (listener) => {
        listeners.push(listener);
      };
    }
    return port;
  }
}

/** A serde with the real Avro encoding and validation but no registry (schema id 0 = current). */
export function memorySerde(): Serde {
  return {
    encode(topic: TopicSpec, value: object) {
      if (!topic.record) throw new SchemaError(`topic ${topic.name} carries raw bytes`);
      const type = avroType(topic.record);
      if (!type.isValid(value)) throw new SchemaError(`value does not match ${topic.record}`);
      return Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), type.toBuffer(value)]);
    },
    async decode<T>(topic: TopicSpec, bytes: Buffer) {
      if (!topic.record) throw new SchemaError(`topic ${topic.name} carries raw bytes`);
      if (bytes.length < 5 || bytes[0] !== 0) throw new SchemaError("not in the Confluent wire format");
      try {
        return avroType(topic.record).fromBuffer(bytes.subarray(5)) as T;
      } catch (err) {
        throw new SchemaError(`cannot decode ${topic.record}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
