import avro from "avsc";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { avroSchemas, valueSubject, type TopicSpec } from "@costwise/schemas";
import { boundedCall, type CallBudget } from "./deadline.ts";
import { PoisonMessageError, SchemaError } from "./errors.ts";

type Resolver = ReturnType<avro.Type["createResolver"]>;

/** Values on the wire: Avro in the Confluent wire format (magic 0, 4-byte schema id, payload). */
export interface Serde {
  encode(topic: TopicSpec, value: object): Buffer;
  decode<T>(topic: TopicSpec, bytes: Buffer): Promise<T>;
}

/** The two registry calls the serde needs; @kafkajs/confluent-schema-registry in production. */
export interface RegistryPort {
  register(subject: string, schema: object): Promise<number>;
  writerSchema(id: number): Promise<object>;
}

/** The registry refused a call for good (4xx other than 408/429): retrying cannot help. */
export class RegistryRejectedError extends PoisonMessageError {
  readonly status: number;
  constructor(message: string, status: number, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

export interface RegistryOptions {
  /** Deadline of one HTTP call (default 5 s). */
  readonly timeoutMs?: number;
  /** Attempts per call, the first included (default 4), with jittered backoff between them. */
  readonly attempts?: number;
}

/**
 * The registry as the serde needs it. Each call has a deadline and a retry budget of its own: the
 * client library has neither (a dropped request waits forever), so its own retries are off and
 * this is the one retry loop.
 */
export function confluentRegistry(host: string, opts: RegistryOptions = {}): RegistryPort {
  const registry = new SchemaRegistry({ host, retry: { retries: 0 } });
  const budget: CallBudget = {
    timeoutMs: opts.timeoutMs ?? 5_000,
    retry: { attempts: opts.attempts ?? 4, initialDelayMs: 250, maxDelayMs: 4_000, jitter: 0.25 },
  };
  const call = <T>(what: string, fn: () => Promise<T>) =>
    boundedCall(what, budget, async () => {
      try {
        return await fn();
      } catch (err) {
        const status = (err as { status?: number }).status;
        if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
          throw new RegistryRejectedError(`${what}: the registry answered ${status}: ${(err as Error).message}`, status, { cause: err });
        }
        throw err;
      }
    });
  return {
    register: (subject, schema) =>
      call(`schema registry: register ${subject}`, async () => (await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject })).id),
    writerSchema: (id) =>
      call(`schema registry: fetch schema ${id}`, async () => {
        // The library hands back a parsed avsc Type; its canonical JSON rebuilds it under our avsc.
        const type = (await registry.getSchema(id)) as unknown as avro.Type;
        return type.schema() as object;
      }),
  };
}

const MAGIC = 0;

export function wireEncode(id: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(MAGIC, 0);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, payload]);
}

export function wireDecode(bytes: Buffer): { id: number; payload: Buffer } {
  if (bytes.length < 5 || bytes.readUInt8(0) !== MAGIC) {
    throw new SchemaError(`not in the Confluent wire format (${bytes.length} bytes, first byte ${bytes[0] ?? "none"})`);
  }
  return { id: bytes.readUInt32BE(1), payload: bytes.subarray(5) };
}

function invalidPaths(type: avro.Type, value: unknown): string[] {
  const paths: string[] = [];
  type.isValid(value, { errorHook: (path) => paths.push(path.join(".") || "(root)") });
  return paths;
}

/**
 * Registry-backed Avro serde. Writes with the current schema of the topic's record (registered
 * once at startup under TopicNameStrategy); reads any registered version and resolves it to the
 * current reader schema, so records written by older producers decode with defaults filled in.
 */
export class AvroSerde implements Serde {
  private readonly writeIds = new Map<string, number>();
  private readonly readers = new Map<string, avro.Type>();
  private readonly resolvers = new Map<string, Promise<Resolver | null>>();

  constructor(private readonly registry: RegistryPort) {}

  /** Register (idempotently) the current schema of every topic this service writes or reads. */
  async init(topicsUsed: readonly TopicSpec[]): Promise<void> {
    for (const topic of topicsUsed) {
      if (!topic.record || this.writeIds.has(topic.name)) continue;
      const schema = avroSchemas[topic.record];
      const id = await this.registry.register(valueSubject(topic), schema);
      this.writeIds.set(topic.name, id);
      this.readers.set(topic.name, avro.Type.forSchema(schema as avro.Schema));
    }
  }

  private reader(topic: TopicSpec): avro.Type {
    const t = this.readers.get(topic.name);
    if (!t) throw new Error(`serde not initialised for topic ${topic.name}`);
    return t;
  }

  encode(topic: TopicSpec, value: object): Buffer {
    const type = this.reader(topic);
    const id = this.writeIds.get(topic.name)!;
    try {
      return wireEncode(id, type.toBuffer(value));
    } catch (err) {
      throw new SchemaError(`value does not match ${topic.record} (fields: ${invalidPaths(type, value).join(", ")})`, { cause: err });
    }
  }

  async decode<T>(topic: TopicSpec, bytes: Buffer): Promise<T> {
    const { id, payload } = wireDecode(bytes);
    const reader = this.reader(topic);
    const resolver = await this.resolverFor(topic, id);
    try {
      return (resolver ? reader.fromBuffer(payload, resolver) : reader.fromBuffer(payload)) as T;
    } catch (err) {
      throw new SchemaError(`cannot decode ${topic.record} written with schema id ${id}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** One registry lookup per writer schema id, shared by concurrent decodes. */
  private resolverFor(topic: TopicSpec, id: number): Promise<Resolver | null> {
    if (this.writeIds.get(topic.name) === id) return Promise.resolve(null);
    const k = `${topic.name}#${id}`;
    let p = this.resolvers.get(k);
    if (!p) {
      p = this.registry.writerSchema(id).then(
        (schema) => {
          try {
            return this.reader(topic).createResolver(avro.Type.forSchema(schema as avro.Schema));
          } catch (err) {
            throw new SchemaError(`schema id ${id} is not readable as ${topic.record}: ${(err as Error).message}`, { cause: err });
          }
        },
        (err: unknown) => {
          this.resolvers.delete(k); // a registry outage is transient: let the next decode ask again
          const status = (err as { status?: number }).status;
          if (status === 404) throw new SchemaError(`unknown schema id ${id}`, { cause: err });
          throw err;
        },
      );
      this.resolvers.set(k, p);
    }
    return p;
  }
}
