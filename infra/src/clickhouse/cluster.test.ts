import { describe, expect, it } from "vitest";
import { clusterLedgerDdl, clusterStatements, ClusterMigrationError, type ClusterState } from "./cluster.ts";
import { loadMigrations, renderStatements, targetStatements } from "./migrate.ts";

const target = { cluster: "costwise_cluster", database: "costwise" };

describe("cluster migrations", () => {
  it("turns a MergeTree table into a replicated local table and a Distributed table sharded by its sort key", () => {
    const state: ClusterState = new Set();
    const out = clusterStatements(
      "CREATE TABLE IF NOT EXISTS `costwise`.`llm_calls`\n(\n    request_id String,\n    version UInt64\n)\nENGINE = ReplacingMergeTree(version)\nPARTITION BY toYYYYMM(ts)\nORDER BY (tenant, use_case, request_id)",
      target, state,
    );
    expect(out).toEqual([
      "CREATE TABLE IF NOT EXISTS `costwise`.`llm_calls_local` ON CLUSTER `costwise_cluster`\n(\n    request_id String,\n    version UInt64\n)\n" +
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/costwise/llm_calls_local', '{replica}', version)\nPARTITION BY toYYYYMM(ts)\nORDER BY (tenant, use_case, request_id)",
      "CREATE TABLE IF NOT EXISTS `costwise`.`llm_calls` ON CLUSTER `costwise_cluster` AS `costwise`.`llm_calls_local`\n" +
        "ENGINE = Distributed(`costwise_cluster`, `costwise`, `llm_calls_local`, cityHash64(tenant, use_case, request_id))",
    ]);
    expect([...state]).toEqual(["costwise.llm_calls"]);
  });

  it("builds materialized views per node over the local tables, and plain views over the Distributed ones", () => {
    const state: ClusterState = new Set(["costwise.llm_calls"]);
    const [mv, dist] = clusterStatements(
      "CREATE MATERIALIZED VIEW IF NOT EXISTS `costwise`.`calls_hourly`\nENGINE = SummingMergeTree()\nPARTITION BY toYYYYMM(hour)\nORDER BY (tenant, hour)\nPOPULATE\nAS SELECT toStartOfHour(ts) AS hour, tenant, count() AS calls FROM `costwise`.`llm_calls` GROUP BY hour, tenant",
      target, state,
    ) as [string, string];
    expect(mv).toContain("CREATE MATERIALIZED VIEW IF NOT EXISTS `costwise`.`calls_hourly_local` ON CLUSTER `costwise_cluster`");
    expect(mv).toContain("ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/costwise/calls_hourly_local', '{replica}')");
    expect(mv).toContain("FROM `costwise`.`llm_calls_local` GROUP BY");
    expect(dist).toContain("ENGINE = Distributed(`costwise_cluster`, `costwise`, `calls_hourly_local`, cityHash64(tenant, hour))");
    const [view] = clusterStatements("CREATE VIEW IF NOT EXISTS `costwise`.`cache_effectiveness` AS SELECT count() FROM `costwise`.`llm_calls`", target, state);
    expect(view).toBe("CREATE VIEW IF NOT EXISTS `costwise`.`cache_effectiveness` ON CLUSTER `costwise_cluster`\nAS SELECT count() FROM `costwise`.`llm_calls`");
  });

  it("alters both the local and the Distributed table, and refuses statements it has no form for", () => {
    const state: ClusterState = new Set(["costwise.llm_calls"]);
    expect(clusterStatements("ALTER TABLE `costwise`.`llm_calls` ADD COLUMN IF NOT EXISTS region String DEFAULT ''", target, state)).toEqual([
      "ALTER TABLE `costwise`.`llm_calls_local` ON CLUSTER `costwise_cluster` ADD COLUMN IF NOT EXISTS region String DEFAULT ''",
      "ALTER TABLE `costwise`.`llm_calls` ON CLUSTER `costwise_cluster` ADD COLUMN IF NOT EXISTS region String DEFAULT ''",
    ]);
    expect(() => clusterStatements("INSERT INTO `costwise`.`llm_calls` VALUES (1)", target, state)).toThrow(ClusterMigrationError);
    expect(() => clusterStatements("CREATE TABLE IF NOT EXISTS `costwise`.`t` (a String) ENGINE = Memory", target, state)).toThrow(/only \*MergeTree tables/);
  });

  it("every shipped migration has a cluster form; single-node mode leaves the statements as written", async () => {
    const migrations = await loadMigrations();
    const state: ClusterState = new Set();
    for (const m of migrations) {
      expect(targetStatements(m, "costwise")).toEqual(renderStatements(m, "costwise"));
      const out = targetStatements(m, "costwise", "costwise_cluster", state);
      expect(out.every((s) => s.includes("ON CLUSTER `costwise_cluster`"))).toBe(true);
      // No local (non-replicated) MergeTree engine is left on a cluster.
      expect(out.filter((s) => /ENGINE = (?!Replicated|Distributed)\w*MergeTree/.test(s))).toEqual([]);
    }
    expect(state.has("costwise.llm_calls")).toBe(true);
    expect(clusterLedgerDdl(target)).toMatch(/ON CLUSTER `costwise_cluster`[\s\S]*ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/all\/costwise\/schema_migrations', '\{replica\}', applied_at\)/);
  });
});
