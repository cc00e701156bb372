/**
 * `npm run cache -- <command>`: operate on the cache in Redis.
 *   invalidate --tenant T [--use-case U] [--entry KEY]   delete entries (and refuse answers still in flight for them)
 *   list --tenant T [--use-case U] [--limit N]           show entries: key, use case, source request, age, expiry
 *   calibrate --tenant T --use-case U --from <jsonl>     warm start: seed the use case's calibration from labelled queries
 *   calibration --tenant T --use-case U                  show the shared calibration: evidence, seeds, threshold
 * Replicas drop invalidated vectors from their indexes through the change feed, and read the
 * calibration from Redis (a seeded one is served from on their next refresh).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { Redis } from "ioredis";
import { z } from "zod";
import { embeddingModelSpec, ensureEmbeddingModel } from "@costwise/infra";
import { localEmbedder } from "@costwise/embeddings";
import { parseConfig } from "@costwise/stream-runtime";
import { seededRandom, shuffle } from "@costwise/seeded";
import { DEFAULT_EMBEDDING_MODEL } from "../../src/config.ts";
import { calibratedThreshold, type CalibrationState } from "../../src/decision.ts";
import { salientDetails } from "../../src/guard.ts";
import { normalizeText } from "../../src/key.ts";
import { DEFAULT_POLICY_FILE, loadPolicies, type UseCasePolicy } from "../../src/policy.ts";
import { adminRedisOptions, RedisCacheStore } from "../../src/redis-store.ts";
import { namePart, NEIGHBOURHOODS, type CacheEntry, type CalibrationRef, type Neighbourhood } from "../../src/store.ts";
import { seedEvidence } from "../../src/warm-start.ts";
import { readRows } from "../eval/run.ts";

const env = parseConfig(
  z.object({
    REDIS_URL: z.string().url().default("redis://127.0.0.1:16379"),
    CACHE_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default("cw:cache"),
    CACHE_POLICY_FILE: z.string().min(1).default(DEFAULT_POLICY_FILE),
    CACHE_EMBEDDING_MODEL: z.string().min(1).default(DEFAULT_EMBEDDING_MODEL),
    CACHE_ANN_CANDIDATES: z.coerce.number().int().positive().max(64).default(4),
  }),
  process.env,
);

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`'${v}' is not a positive integer`);
  return n;
};

/** The bounded use case a calibration belongs to: semantic with max_wrong_rate, else calibrating it means nothing. */
function boundedPolicy(file: string, useCase: string): UseCasePolicy & { max_wrong_rate: number } {
  const p = loadPolicies(file).useCases[useCase];
  if (!p) throw new Error(`no use case '${useCase}' in ${file}`);
  if (p.mode !== "semantic" || p.max_wrong_rate === undefined) throw new Error(`use case '${useCase}' is not semantic with max_wrong_rate in ${file}: it has no calibration`);
  return p as UseCasePolicy & { max_wrong_rate: number };
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const describeThreshold = (t: number) => (t > 1 ? "none yet (serves nothing)" : t.toFixed(3));

async function withStore<T>(fn: (store: RedisCacheStore, redis: Redis) => Promise<T>): Promise<T> {
  const clients = [0, 1, 2].map(() => new Redis(env.REDIS_URL, adminRedisOptions(10_000)));
  try {
    await Promise.all(clients.map((c) => c.connect()));
    return await fn(new RedisCacheStore(clients[0]!, clients[1]!, clients[2]!, { prefix: env.CACHE_KEY_PREFIX }), clients[1]!);
  } finally {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
  }
}

const program = new Command("cache").description(`Operate on the costwise cache in Redis (${env.REDIS_URL}, prefix ${env.CACHE_KEY_PREFIX})`);

program
  .command("invalidate")
  .description("delete a tenant's entries, or one use case's, or one entry")
  .requiredOption("--tenant <tenant>", "tenant whose entries go")
  .option("--use-case <useCase>", "only this use case")
  .option("--entry <key>", "only this entry (its key, from `list`)")
  .action(async (o: { tenant: string; useCase?: string; entry?: string }) => {
    if (o.entry !== undefined && !/^[0-9a-f]{32}$/.test(o.entry)) throw new Error(`--entry takes a 32-hex-digit key (see \`npm run cache -- list\`), not '${o.entry}'`);
    const n = await withStore((store) =>
      store.invalidate({ tenant: o.tenant, ...(o.useCase !== undefined ? { useCase: o.useCase } : {}), ...(o.entry !== undefined ? { key: o.entry } : {}) }, Date.now()),
    );
    const what = [`tenant ${o.tenant}`, o.useCase && `use case ${o.useCase}`, o.entry && `entry ${o.entry}`].filter(Boolean).join(", ");
    console.log(`invalidated ${n} entr${n === 1 ? "y" : "ies"} (${what})`);
  });

program
  .command("list")
  .description("list a tenant's entries")
  .requiredOption("--tenant <tenant>", "tenant")
  .option("--use-case <useCase>", "only this use case")
  .option("--limit <n>", "at most n entries", (v) => Number.parseInt(v, 10), 50)
  .action(async (o: { tenant: string; useCase?: string; limit: number }) => {
    await withStore(async (_store, redis) => {
      const pattern = `${env.CACHE_KEY_PREFIX}:e:${namePart(o.tenant)}:${o.useCase === undefined ? "*" : namePart(o.useCase)}:*`;
      let cursor = "0";
      let shown = 0;
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        for (const raw of keys.length ? await redis.mget(...keys) : []) {
          if (raw === null || shown >= o.limit) continue;
          const e = JSON.parse(raw) as CacheEntry;
          shown++;
          const age = Math.round((Date.now() - e.created_at) / 1000);
          const left = Math.round((e.expires_at - Date.now()) / 1000);
          console.log(`${e.key}  ${e.use_case}  from ${e.source_request_id}  ${e.vector ? "semantic" : "exact"}  age ${age}s  expires in ${left}s  ${JSON.stringify(e.query.slice(0, 60))}`);
        }
      } while (cursor !== "0" && shown < o.limit);
      if (shown === 0) console.log("no entries");
    });
  });

program
  .command("calibrate")
  .description("warm start: seed a use case's calibration with the would-be reuses of labelled queries (cache_* rows), so a fresh deployment serves from the start")
  .requiredOption("--tenant <tenant>", "tenant whose calibration is seeded")
  .requiredOption("--use-case <useCase>", "a semantic use case with max_wrong_rate")
  .requiredOption("--from <jsonl>", "labelled queries (fields text, intent, is_oos): NOT the traffic you will evaluate on")
  .option("--model <model>", "embedding model of the service (its calibration is per model)", env.CACHE_EMBEDDING_MODEL)
  .option("--policy-file <file>", "the service's policy file", env.CACHE_POLICY_FILE)
  .option("--seed <n>", "order of the queries (shuffled, like live traffic)", positiveInt, 1)
  .option("--max-pairs <n>", "stop after this many labelled pairs (how much the seed weighs against live evidence)", positiveInt)
  .action(async (o: { tenant: string; useCase: string; from: string; model: string; policyFile: string; seed: number; maxPairs?: number }) => {
    const policy = boundedPolicy(o.policyFile, o.useCase);
    const content = readFileSync(o.from);
    const rows = readRows(o.from);
    const spec = embeddingModelSpec(o.model);
    const embedder = await localEmbedder({ modelDir: await ensureEmbeddingModel(undefined, { model: spec.name }), threads: 1 });
    let embeddingNanoUsd = 0;
    const order = shuffle(rows, seededRandom(o.seed));
    const queries = [];
    try {
      for (const [i, r] of order.entries()) {
        const query = normalizeText(r.text);
        const [e] = await embedder.embed([query]);
        embeddingNanoUsd += e!.costNanoUsd;
        queries.push({ query, vector: e!.vector, label: r.is_oos ? null : r.intent });
        if ((i + 1) % 500 === 0 || i + 1 === order.length) process.stderr.write(`[calibrate] embedded ${i + 1}/${order.length}\n`);
      }
    } finally {
      await embedder.close?.();
    }
    const seeded = seedEvidence(queries, { guard: policy.guard, salient: salientDetails, candidates: env.CACHE_ANN_CANDIDATES, ...(o.maxPairs ? { maxPairs: o.maxPairs } : {}) });
    const at = Date.now();
    const sha256 = createHash("sha256").update(content).digest("hex");
    const thresholds = await withStore(async (store) => {
      const out: Partial<Record<Neighbourhood, number>> = {};
      for (const neighbourhood of NEIGHBOURHOODS) {
        const ref: CalibrationRef = { tenant: o.tenant, useCase: o.useCase, embedder: embedder.name, neighbourhood };
        const evidence = seeded.evidence[neighbourhood];
        await store.addCalibration(ref, evidence, { pairs: sum(evidence.labelled), from: path.basename(o.from), sha256, at, embeddingNanoUsd: neighbourhood === "agree" ? embeddingNanoUsd : 0 });
        out[neighbourhood] = calibratedThreshold((await store.readCalibration(ref)).state, policy.max_wrong_rate, policy.confidence);
      }
      return out as Record<Neighbourhood, number>;
    });
    console.log(
      `seeded ${o.tenant}/${o.useCase} (${embedder.name}) from ${path.basename(o.from)}: ${seeded.pairs} labelled pairs (${seeded.wrong} not interchangeable), ` +
        `${seeded.exact} exact repeats skipped; embedding cost ${embeddingNanoUsd} nano-USD (a cost of the cache); thresholds at δ=${policy.max_wrong_rate} now ` +
        `${describeThreshold(thresholds.agree)} where the two nearest answers agree, ${describeThreshold(thresholds.differ)} where they differ, ${describeThreshold(thresholds.single)} with one candidate`,
    );
    const orNull = (t: number) => (t > 1 ? null : t);
    console.log(JSON.stringify({ tenant: o.tenant, use_case: o.useCase, model: embedder.name, pairs: seeded.pairs, wrong: seeded.wrong, embedding_nanousd: embeddingNanoUsd, threshold: { agree: orNull(thresholds.agree), differ: orNull(thresholds.differ), single: orNull(thresholds.single) } }));
  });

program
  .command("calibration")
  .description("show a use case's shared calibration: live and seeded evidence, the threshold it gives")
  .requiredOption("--tenant <tenant>", "tenant")
  .requiredOption("--use-case <useCase>", "a semantic use case with max_wrong_rate")
  .option("--model <model>", "embedding model", env.CACHE_EMBEDDING_MODEL)
  .option("--policy-file <file>", "the service's policy file", env.CACHE_POLICY_FILE)
  .action(async (o: { tenant: string; useCase: string; model: string; policyFile: string }) => {
    const policy = boundedPolicy(o.policyFile, o.useCase);
    const embedder = `local:${embeddingModelSpec(o.model).name}`;
    for (const neighbourhood of NEIGHBOURHOODS) {
      const ref: CalibrationRef = { tenant: o.tenant, useCase: o.useCase, embedder, neighbourhood };
      const c = await withStore((store) => store.readCalibration(ref));
      const s: CalibrationState = c.state;
      const seededPairs = sum(c.seeds.map((x) => x.pairs));
      console.log(`${o.tenant}/${o.useCase} (${embedder}), neighbourhood ${neighbourhood}: traffic ${sum(s.traffic)}, verified ${sum(s.labelled)} (${sum(s.wrong)} not interchangeable), of which seeded ${seededPairs}`);
      for (const x of c.seeds) console.log(`  seed ${new Date(x.at).toISOString()}: ${x.pairs} pairs from ${x.from} (sha256 ${x.sha256.slice(0, 12)}…), embedding ${x.embeddingNanoUsd} nano-USD`);
      console.log(`  threshold at δ=${policy.max_wrong_rate}, confidence ${policy.confidence}: ${describeThreshold(calibratedThreshold(s, policy.max_wrong_rate, policy.confidence))}`);
    }
  });

program.parseAsync().catch((err: unknown) => {
  console.error(`cache: ${(err as Error).message}`);
  process.exit(1);
});
