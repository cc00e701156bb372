/**
 * `npm run cache -- <command>`: operate on the cache in Redis.
 *   invalidate --tenant T [--use-case U] [--entry KEY]   delete entries (and refuse answers still in flight for them)
 *   list --tenant T [--use-case U] [--limit N]           show entries: key, use case, source request, age, expiry
 * Replicas drop invalidated vectors from their indexes through the change feed.
 */
import { Command } from "commander";
import { Redis } from "ioredis";
import { z } from "zod";
import { parseConfig } from "@costwise/stream-runtime";
import { adminRedisOptions, RedisCacheStore } from "../../src/redis-store.ts";
import { namePart, type CacheEntry } from "../../src/store.ts";

const env = parseConfig(
  z.object({
    REDIS_URL: z.string().url().default("redis://127.0.0.1:16379"),
    CACHE_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).default("cw:cache"),
  }),
  process.env,
);

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

program.parseAsync().catch((err: unknown) => {
  console.error(`cache: ${(err as Error).message}`);
  process.exit(1);
});
