/**
 * `npm run bench -- transport`: the Kafka client libraries side by side on the same broker, with the
 * producer settings the runtime must keep (idempotent, acks from all in-sync replicas) and a consumer
 * in a group: kafkajs (what the runtime uses), @platformatic/kafka (pure JavaScript) and
 * @confluentinc/kafka-javascript (librdkafka, a native addon built from source at install).
 *
 * A fourth row, runtime_platformatic, is what KAFKA_CLIENT=platformatic runs: the runtime's producer
 * and consumer ports on @platformatic/kafka.
 *
 * Per client, on fresh topics of the benchmark's namespace:
 * - hop: one record produced and awaited, consumed, then the next (1 in flight), p50/p99;
 * - throughput: N records produced in sends of BATCH records with up to WINDOW sends outstanding
 *   (each library applies its own idempotence limit under that), consumed by one group member;
 *   records/s from the first send to the last record consumed (hop) and to the last send acknowledged (produced), median of the rounds. The clients take turns, ${ROUNDS} round(s).
 * Values are 1,500 random bytes (the pipeline's Avro records are 1–2 KB), keys random per record.
 *
 * @confluentinc/kafka-javascript is loaded from BENCH_CONFLUENT_MODULE (a directory, e.g. a scratch
 * install) or else from the workspace; when neither loads, its row says why.
 * Writes docs/benchmarks/transport.md and the summary keys transport_hop_p50_ms, transport_hop_p99_ms,
 * transport_rps, transport_produce_rps (each {kafkajs, platformatic, confluent, runtime_platformatic}).
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, totalmem } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Table from "cli-table3";
import { ensureStack, loadStackEnv, repoRoot } from "@costwise/infra";
import { topicNamespace } from "@costwise/schemas";
import { Admin as PlatformaticAdmin, Consumer as PlatformaticConsumer, Producer as PlatformaticProducer } from "@platformatic/kafka";
import { Kafka, logLevel } from "kafkajs";
import { silentLogger, type ConsumerPort, type ProducerPort } from "@costwise/stream-runtime";
import { platformaticConsumer, platformaticProducer } from "@costwise/stream-runtime/platformatic";
import { runId } from "../harness.ts";
import { percentile } from "./stats.ts";
import { writeSummaryPart } from "./summary.ts";

const HOP_N = Number(process.env.BENCH_TRANSPORT_HOP_N ?? 500);
const TPUT_N = Number(process.env.BENCH_TRANSPORT_TPUT_N ?? 20_000);
const BATCH = Number(process.env.BENCH_TRANSPORT_BATCH ?? 200);
const WINDOW = Number(process.env.BENCH_TRANSPORT_WINDOW ?? 8);
const PARTITIONS = 6;
const VALUE_BYTES = 1_500;
const WARMUP = 20;
/** The clients take turns, ROUNDS times: a shared machine's load shifts during a run. */
const ROUNDS = Number(process.env.BENCH_TRANSPORT_ROUNDS ?? 3);
/** No single step of a measurement may hang the suite. */
const STEP_TIMEOUT_MS = 30_000;
/** `runtime_platformatic`: what KAFKA_CLIENT=platformatic runs, the runtime's producer and consumer ports on @platformatic/kafka. */
const ALL_CLIENTS = ["kafkajs", "platformatic", "confluent", "runtime_platformatic"] as const;
type ClientName = (typeof ALL_CLIENTS)[number];
/** BENCH_TRANSPORT_CLIENTS=a,b measures only those. */
const CLIENTS = ALL_CLIENTS.filter((c) => (process.env.BENCH_TRANSPORT_CLIENTS ?? ALL_CLIENTS.join(",")).split(",").includes(c));

/** One client library reduced to what the two measurements need. */
interface Client {
  /** Start a group member on `topic` from its beginning; `onRecord` gets each record's key. Resolves once it owns partitions. */
  consume(topic: string, onRecord: (key: string) => void): Promise<void>;
  /** Produce and resolve once every record is acknowledged by all in-sync replicas. */
  send(topic: string, records: readonly { key: string; value: Buffer }[]): Promise<void>;
  close(): Promise<void>;
}

interface Hop { n: number; p50: number; p99: number; ackP50: number; ackP99: number }
interface Result { hop?: Hop; rps?: number; produceRps?: number; version?: string; error?: string }
/** Every round's samples of one client. */
interface Samples { ms: number[]; acks: number[]; rps: number[]; produceRps: number[]; error?: string }

function deadline<T>(what: string, p: Promise<T>, ms = STEP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${ms} ms`)), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

function kafkajsClient(brokers: string[]): Client {
  const kafka = new Kafka({ clientId: "costwise-bench-transport", brokers, logLevel: logLevel.NOTHING });
  // The runtime's producer (kafka-transport.ts): idempotence allows kafkajs one request in flight.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId: runId("bench-transport-kafkajs"), maxWaitTimeInMs: 100 });
  let connected = false;
  return {
    async consume(topic, onRecord) {
      await Promise.all([producer.connect(), consumer.connect()]);
      connected = true;
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.run({ eachMessage: async ({ message }) => onRecord(message.key?.toString() ?? "") });
      await joined;
    },
    async send(topic, records) {
      await producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value })) });
    },
    async close() {
      if (connected) await Promise.all([producer.disconnect(), consumer.disconnect()]);
    },
  };
}

function platformaticClient(brokers: string[]): Client {
  // Idempotence makes the library keep one produce request in flight per connection, as kafkajs does.
  const producer = new PlatformaticProducer({ clientId: "costwise-bench-transport", bootstrapBrokers: brokers, idempotent: true, acks: -1, autocreateTopics: false, timeout: STEP_TIMEOUT_MS });
  let tail: Promise<void> = Promise.resolve();
  const consumer = new PlatformaticConsumer({ clientId: "costwise-bench-transport", groupId: runId("bench-transport-platformatic"), bootstrapBrokers: brokers, maxWaitTime: 100, timeout: STEP_TIMEOUT_MS });
  return {
    async consume(topic, onRecord) {
      const joined = new Promise<void>((resolve) => consumer.once("consumer:group:join", () => resolve()));
      const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: 500, maxWaitTime: 100 });
      stream.on("data", (m) => onRecord(m.key?.toString() ?? ""));
      stream.on("error", () => undefined);
      await joined;
    },
    // Its idempotent producer does not order concurrent sends (the broker answers
    // OUT_OF_ORDER_SEQUENCE_NUMBER), so they are chained here, as a producer port would have to.
    send(topic, records) {
      const sent = tail.then(() => producer.send({ messages: records.map((r) => ({ topic, key: Buffer.from(r.key), value: r.value })) }));
      tail = sent.then(() => undefined, () => undefined);
      return sent.then(() => undefined);
    },
    async close() {
      await Promise.all([producer.close(), consumer.close(true)]);
    },
  };
}

/** The runtime's ports on @platformatic/kafka: the producer (queued sends, send deadline) and the consumer (per-partition batches, resolved offsets committed). */
function runtimeClient(brokers: string[]): Client {
  let port: Promise<ProducerPort> | undefined;
  let consumer: ConsumerPort | undefined;
  const producer = () => (port ??= platformaticProducer({ brokers, clientId: "costwise-bench-transport" }, { sendTimeoutMs: STEP_TIMEOUT_MS }));
  return {
    async consume(topic, onRecord) {
      const c = (consumer = await platformaticConsumer({
        brokers, clientId: "costwise-bench-transport", groupId: runId("bench-transport-runtime"), topics: [topic],
        partitionsConsumedConcurrently: PARTITIONS, fromBeginning: true, logger: silentLogger,
      }));
      await Promise.all([
        c.run(async (batch) => {
          for (const m of batch.messages) onRecord(m.key?.toString() ?? "");
          batch.resolveOffset(batch.messages.at(-1)!.offset);
        }),
        producer(),
      ]);
      for (const end = Date.now() + STEP_TIMEOUT_MS; !c.ready(); ) {
        if (Date.now() > end) throw new Error("runtime_platformatic: the consumer did not join");
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async send(topic, records) {
      await (await producer()).send(records.map((r) => ({ topic, key: r.key, value: r.value })));
    },
    async close() {
      await Promise.all([consumer?.stop(), port?.then((p) => p.close())]);
    },
  };
}

/** The KafkaJS-compatible promise API of @confluentinc/kafka-javascript, as far as used here. */
interface ConfluentModule {
  librdkafkaVersion: string;
  KafkaJS: {
    Kafka: new (config: Record<string, unknown>) => {
      producer(config: Record<string, unknown>): { connect(): Promise<void>; disconnect(): Promise<void>; send(r: { topic: string; messages: { key: string; value: Buffer }[] }): Promise<unknown> };
      consumer(config: Record<string, unknown>): {
        connect(): Promise<void>; disconnect(): Promise<void>; subscribe(s: { topics: string[] }): Promise<void>;
        run(r: { eachMessage: (p: { message: { key: Buffer | null } }) => Promise<void> }): Promise<void>;
        assignment(): { topic: string; partitions: number[] }[];
      };
    };
  };
}

function loadConfluent(): { mod: ConfluentModule; version: string } {
  const require = createRequire(import.meta.url);
  const spec = process.env.BENCH_CONFLUENT_MODULE ? path.resolve(process.env.BENCH_CONFLUENT_MODULE) : "@confluentinc/kafka-javascript";
  const mod = require(spec) as ConfluentModule;
  return { mod, version: `${packageVersion(require.resolve(spec))} (librdkafka ${mod.librdkafkaVersion})` };
}

/** The version in the package.json above a resolved entry point (some packages do not export it). */
function packageVersion(entry: string): string {
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, "package.json");
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name && pkg.version) return pkg.version;
    }
  }
  return "?";
}

function confluentClient(mod: ConfluentModule, brokers: string[]): Client {
  const kafka = new mod.KafkaJS.Kafka({ kafkaJS: { clientId: "costwise-bench-transport", brokers, logLevel: 0 } });
  // librdkafka's idempotent producer keeps up to 5 requests in flight without reordering; linger 0
  // sends as soon as a record is handed over (its default of 5 ms would add to every hop).
  const producer = kafka.producer({ "linger.ms": 0, kafkaJS: { idempotent: true, acks: -1, allowAutoTopicCreation: false } });
  const consumer = kafka.consumer({ "fetch.wait.max.ms": 100, kafkaJS: { groupId: runId("bench-transport-confluent"), fromBeginning: true } });
  let connected = false;
  return {
    async consume(topic, onRecord) {
      await Promise.all([producer.connect(), consumer.connect()]);
      connected = true;
      await consumer.subscribe({ topics: [topic] });
      void consumer.run({ eachMessage: async ({ message }) => onRecord(message.key?.toString() ?? "") });
      // The compatible API has no join event: poll the assignment.
      for (const end = Date.now() + STEP_TIMEOUT_MS; consumer.assignment().length === 0; ) {
        if (Date.now() > end) throw new Error("confluent: no partitions assigned");
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async send(topic, records) {
      await producer.send({ topic, messages: records.map((r) => ({ key: r.key, value: r.value })) });
    },
    async close() {
      if (connected) await Promise.all([producer.disconnect(), consumer.disconnect()]);
    },
  };
}

/** Produce → consumed and produce → acknowledged (the producer's share), ms per record. */
async function hop(client: Client, topic: string, n: number): Promise<{ ms: number[]; acks: number[] }> {
  const waiting = new Map<string, () => void>();
  await deadline("hop: join the group", client.consume(topic, (key) => waiting.get(key)?.()));
  const run = runId("hop");
  const value = randomBytes(VALUE_BYTES);
  const ms: number[] = [];
  const acks: number[] = [];
  for (let i = 0; i < n + WARMUP; i++) {
    const key = `${run}-${i}`;
    const got = new Promise<void>((resolve) => waiting.set(key, resolve));
    const t = performance.now();
    await deadline("hop: send", client.send(topic, [{ key, value }]));
    const acked = performance.now() - t;
    await deadline("hop: consume", got);
    if (i >= WARMUP) { // the first ones warm up connections and fetch sessions
      ms.push(performance.now() - t);
      acks.push(acked);
    }
    waiting.delete(key);
  }
  return { ms, acks };
}

/** Records/s from the first send to the last acknowledged (produce) and to the last consumed (hop). */
async function throughput(client: Client, topic: string, n: number): Promise<{ rps: number; produceRps: number }> {
  const run = runId("tput");
  let seen = 0;
  let done: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (done = resolve));
  await deadline("throughput: join the group", client.consume(topic, (key) => {
    if (key.startsWith(run) && ++seen === n) done();
  }));
  const records = Array.from({ length: n }, (_, i) => ({ key: `${run}-${i}-${randomBytes(4).toString("hex")}`, value: randomBytes(VALUE_BYTES) }));
  const t0 = performance.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < n; i += BATCH) {
    const p: Promise<void> = deadline("throughput: send", client.send(topic, records.slice(i, i + BATCH))).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= WINDOW) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const produced = performance.now();
  await deadline(`throughput: consume ${n} records`, all, 300_000);
  return { rps: n / ((performance.now() - t0) / 1000), produceRps: n / ((produced - t0) / 1000) };
}

async function main() {
  await ensureStack({ log: (l: string) => console.log(`  ${l}`) });
  const brokers = loadStackEnv().KAFKA_BROKERS!.split(",");
  const ns = topicNamespace();
  const kafka = new Kafka({ clientId: "costwise-bench-transport-admin", brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const made: string[] = [];
  const fresh = async (name: string, partitions: number) => {
    const topic = `${ns}bench.transport.${name}-${Date.now().toString(36)}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true, timeout: 30_000 });
    made.push(topic);
    return topic;
  };
  const results = new Map<ClientName, Result>();
  let confluent: { mod: ConfluentModule; version: string } | undefined;
  try {
    confluent = loadConfluent();
  } catch (err) {
    results.set("confluent", { error: `not loaded: ${(err instanceof Error ? err.message : String(err)).split("\n")[0]}` });
  }
  const versions: Record<ClientName, string | undefined> = {
    kafkajs: packageVersion(createRequire(import.meta.url).resolve("kafkajs")),
    platformatic: packageVersion(fileURLToPath(import.meta.resolve("@platformatic/kafka"))),
    confluent: confluent?.version,
    runtime_platformatic: undefined,
  };
  const make = (name: ClientName): Client =>
    name === "kafkajs" ? kafkajsClient(brokers) : name === "platformatic" ? platformaticClient(brokers) : name === "confluent" ? confluentClient(confluent!.mod, brokers) : runtimeClient(brokers);
  const samples = new Map<ClientName, Samples>(CLIENTS.filter((n) => !results.has(n)).map((n) => [n, { ms: [], acks: [], rps: [], produceRps: [] }]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, got] of samples) {
        if (got.error) continue;
        // A fresh client per measurement: the throughput run must not inherit the hop run's group.
        for (const step of ["hop", "throughput"] as const) {
          const client = make(name);
          try {
            if (step === "hop") {
              const h = await hop(client, await fresh(`${name}-hop`, 1), HOP_N);
              got.ms.push(...h.ms);
              got.acks.push(...h.acks);
              console.log(`round ${round}, ${name}: hop of ${HOP_N} records one at a time, p50 ${percentile(h.ms, 50).toFixed(1)} ms`);
            } else {
              const t = await throughput(client, await fresh(`${name}-tput`, PARTITIONS), TPUT_N);
              got.rps.push(t.rps);
              got.produceRps.push(t.produceRps);
              console.log(`round ${round}, ${name}: ${TPUT_N} records, ${Math.round(t.rps)}/s consumed, ${Math.round(t.produceRps)}/s acknowledged`);
            }
          } catch (err) {
            got.error = `${step}: ${err instanceof Error ? err.message : String(err)}`;
            console.error(`${name}: ${got.error}`);
          } finally {
            await deadline(`${name}: close`, client.close()).catch((err: unknown) => console.error(`${name}: close: ${String(err)}`));
          }
          if (got.error) break;
        }
      }
    }
    const r1 = (v: number) => Math.round(v * 10) / 10;
    for (const [name, got] of samples) {
      results.set(name, {
        version: versions[name],
        ...(got.ms.length ? { hop: { n: got.ms.length, p50: r1(percentile(got.ms, 50)), p99: r1(percentile(got.ms, 99)), ackP50: r1(percentile(got.acks, 50)), ackP99: r1(percentile(got.acks, 99)) } } : {}),
        ...(got.rps.length ? { rps: Math.round(percentile(got.rps, 50)), produceRps: Math.round(percentile(got.produceRps, 50)) } : {}),
        ...(got.error ? { error: got.error } : {}),
      });
    }
  } finally {
    await admin.deleteTopics({ topics: made, timeout: 30_000 }).catch((err: unknown) => console.error(`topics not deleted: ${String(err)}`));
    await admin.disconnect();
  }

  const label: Record<ClientName, string> = { kafkajs: "kafkajs", platformatic: "@platformatic/kafka", confluent: "@confluentinc/kafka-javascript", runtime_platformatic: "runtime, KAFKA_CLIENT=platformatic (its producer and consumer ports)" };
  const table = new Table({ style: { head: [], border: [] }, head: ["client", "version", "hop p50 (ms)", "hop p99 (ms)", "ack p50 (ms)", "ack p99 (ms)", "records/s", "produced/s", "note"] });
  for (const name of CLIENTS) {
    const r = results.get(name)!;
    table.push([label[name], r.version ?? "", r.hop?.p50 ?? "", r.hop?.p99 ?? "", r.hop?.ackP50 ?? "", r.hop?.ackP99 ?? "", r.rps ?? "", r.produceRps ?? "", r.error ?? ""]);
  }
  console.log(`\n${table.toString()}`);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
  const cell = (v: number | undefined) => (v === undefined ? "—" : String(v));
  writeFileSync(path.join(repoRoot, "docs/benchmarks/transport.md"), [
    "# Kafka client libraries",
    "",
    `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${machine} (load average ${loadavg().map((l) => l.toFixed(1)).join(" / ")} at the end), one local broker shared with the rest of the stack. Command: \`npm run bench -- transport\` (env: BENCH_TRANSPORT_HOP_N, BENCH_TRANSPORT_TPUT_N, BENCH_TRANSPORT_BATCH, BENCH_TRANSPORT_WINDOW, BENCH_TRANSPORT_ROUNDS, BENCH_TRANSPORT_CLIENTS, BENCH_CONFLUENT_MODULE).`,
    "",
    `Every producer is idempotent with acks from all in-sync replicas (one, on this single-broker stack); every consumer is a member of a fresh group. Hop: one ${VALUE_BYTES}-byte record produced, acknowledged and consumed before the next (1 in flight, one-partition topic), ${HOP_N} after ${WARMUP} warm-up records per round, percentiles over all rounds; ack = produce → acknowledged, the producer's share of the hop. Throughput: ${TPUT_N} records of ${VALUE_BYTES} bytes on a ${PARTITIONS}-partition topic, sent ${BATCH} per send with up to ${WINDOW} sends outstanding (each library keeps what its idempotence allows in flight under that: kafkajs one request, librdkafka up to five; @platformatic/kafka's sends are queued one at a time, as its idempotent producer needs), records/s from the first send to the last record consumed (hop) and to the last send acknowledged (produced), median of the rounds. The clients take turns, ${ROUNDS} round(s).`,
    "",
    "| client | version | hop p50 (ms) | hop p99 (ms) | ack p50 (ms) | ack p99 (ms) | records/s (hop) | records/s (produced) | note |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...CLIENTS.map((name) => {
      const r = results.get(name)!;
      return `| ${label[name]} | ${r.version ?? "—"} | ${cell(r.hop?.p50)} | ${cell(r.hop?.p99)} | ${cell(r.hop?.ackP50)} | ${cell(r.hop?.ackP99)} | ${cell(r.rps)} | ${cell(r.produceRps)} | ${r.error ?? ""} |`;
    }),
    "",
    "@confluentinc/kafka-javascript is not in the lock file: its install compiles librdkafka, and the default (static) build downloads the sources of zlib, OpenSSL, zstd and curl, which fails offline; `CKJS_LINKING=dynamic` builds against the system's OpenSSL and zlib headers instead (about a minute on this machine), so it is measured from a separate install named by BENCH_CONFLUENT_MODULE. The runtime's producer and consumer can both be @platformatic/kafka (`KAFKA_CLIENT=platformatic`, the runtime_platformatic row: its two ports); kafkajs stays the default (docs/benchmarks.md, \"Heap growing factor and Kafka client library\").",
    "",
  ].join("\n"));
  const per = (f: (r: Result) => number | undefined) => Object.fromEntries(ALL_CLIENTS.map((n) => [n, (results.has(n) ? f(results.get(n)!) : undefined) ?? null]));
  writeSummaryPart("transport", {
    transport_hop_p50_ms: per((r) => r.hop?.p50),
    transport_hop_p99_ms: per((r) => r.hop?.p99),
    transport_rps: per((r) => r.rps),
    transport_produce_rps: per((r) => r.produceRps),
  });
  console.log("\nwritten to docs/benchmarks/transport.md");
  // A client library's own timers (reconnects, metadata refresh) must not keep the suite alive.
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
