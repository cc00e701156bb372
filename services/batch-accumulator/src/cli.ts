import { parseArgs } from "node:util";
import Table from "cli-table3";
import { Redis } from "ioredis";
import { z } from "zod";
import { parseConfig } from "@costwise/stream-runtime";
import { cancelBatch, listBatches } from "./admin.ts";
import { storeOf } from "./service.ts";
import { batchAccumulatorConfigSchema } from "./config.ts";

const usage = `usage: batch-accumulator <command>
  list [--done N]                          active batches, then the N most recently finished (default 10)
  cancel <batch-id> [--then realtime|error] cancel a batch (our id or the provider's); unfinished requests
                                           go real time (default) or get an ERROR response
env: REDIS_URL, BATCH_KEY_PREFIX (as the service)`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { done: { type: "string", default: "10" }, then: { type: "string", default: "realtime" }, json: { type: "boolean", default: false } },
});
const config = parseConfig(batchAccumulatorConfigSchema.pick({ REDIS_URL: true, BATCH_KEY_PREFIX: true, BATCH_CLAIM_TTL_S: true, BATCH_RETENTION_S: true }), process.env);
const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
const store = storeOf(redis, config);
const out = (s: string) => process.stdout.write(`${s}\n`);
const iso = (ms: number | null) => (ms === null ? "" : new Date(ms).toISOString().replace("T", " ").slice(0, 19));

try {
  await redis.connect();
  const [command, arg] = positionals;
  if (command === "list") {
    const rows = await listBatches(store, { done: z.coerce.number().int().min(0).parse(values.done) });
    if (values.json) out(JSON.stringify(rows, null, 2));
    else {
      const t = new Table({ head: ["batch", "provider batch", "model", "status", "requests", "reason", "created", "provider status", "results"] });
      for (const r of rows) t.push([r.id, r.providerBatchId ?? "", r.model, r.cancelRequestedAt ? `${r.status} (cancel)` : r.status, r.count, r.reason, iso(r.createdAt), r.providerStatus ?? "", r.results ?? ""]);
      out(t.toString());
    }
  } else if (command === "cancel" && arg) {
    const then = z.enum(["realtime", "error"]).parse(values.then);
    const rec = await cancelBatch(store, arg, then, Date.now());
    out(`cancel requested for ${rec.id} (${rec.providerBatchId ?? "not submitted yet"}); unfinished requests: ${then}`);
  } else {
    out(usage);
    process.exitCode = 2;
  }
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
