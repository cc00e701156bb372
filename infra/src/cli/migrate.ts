/**
 * `npm run migrate`: apply the ClickHouse migrations to CLICKHOUSE_URL / CLICKHOUSE_DATABASE, on one
 * node, or as Replicated* + Distributed tables ON CLUSTER when CLICKHOUSE_CLUSTER names a cluster.
 * The Kubernetes migration Job runs this.
 */
import { applyMigrations } from "../stack/provision.ts";
import { loadStackConfig } from "../config.ts";

const config = loadStackConfig();
const t0 = Date.now();
applyMigrations(config).then(
  (r) => console.log(`migrations on ${config.clickhouse.database}${config.clickhouse.cluster ? ` (cluster ${config.clickhouse.cluster})` : " (one node)"}: applied ${r.applied.join(", ") || "none"}, already applied ${r.alreadyApplied.length}, ${Date.now() - t0} ms`),
  (err: unknown) => {
    console.error(`migrate failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
