import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import { clusterLedgerDdl, clusterStatements, type ClusterState } from "./cluster.ts";
import { sql, sqlIdentifier } from "./sql.ts";

/** Where the numbered migration files live: infra/clickhouse/migrations/NNNN_name.sql. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../clickhouse/migrations/", import.meta.url));

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const DATABASE_TOKEN = /\{\{database\}\}/g;

export class MigrationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** sha256 of the file as written; an applied migration must never change. */
  readonly checksum: string;
  /** Statements with `{{database}}` still in place; see renderStatements. */
  readonly statements: readonly string[];
}

/**
 * Split a migration file into statements: a statement ends with ';' at the end of a line.
 * Whole-line `--` comments are dropped, so a chunk of only comments is not a statement.
 */
export function splitStatements(text: string): string[] {
  return text
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((chunk) =>
      chunk
        .split(/\r?\n/)
        .filter((line) => !/^\s*--/.test(line))
        .join("\n")
        .trim(),
    )
    .filter((s) => s.length > 0);
}

export function parseMigration(fileName: string, text: string): Migration {
  const m = FILE_NAME.exec(fileName);
  if (!m) throw new MigrationError(`migration file name ${JSON.stringify(fileName)} does not match NNNN_name.sql`);
  const statements = splitStatements(text);
  if (statements.length === 0) throw new MigrationError(`migration ${fileName} has no statements`);
  return {
    version: Number(m[1]),
    name: m[2]!,
    checksum: createHash("sha256").update(text).digest("hex"),
    statements,
  };
}

/** The statements of a migration for one target database. */
export function renderStatements(migration: Migration, database: string): string[] {
  const db = sqlIdentifier(database).text;
  return migration.statements.map((s) => s.replace(DATABASE_TOKEN, db));
}

/**
 * The statements of a migration for one target: as written on a single node, or (with `cluster`)
 * rewritten to Replicated* tables plus Distributed tables, ON CLUSTER (see cluster.ts). `state`
 * carries the tables made local by earlier migrations.
 */
export function targetStatements(migration: Migration, database: string, cluster?: string, state: ClusterState = new Set()): string[] {
  const single = renderStatements(migration, database);
  if (!cluster) return single;
  return single.flatMap((s) => clusterStatements(s, { cluster, database }, state));
}

/** Read and order every migration of a directory; versions must be unique. */
export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".sql")).sort();
  const migrations = await Promise.all(names.map(async (n) => parseMigration(n, await readFile(path.join(dir, n), "utf8"))));
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new MigrationError(`two migrations share version ${migrations[i]!.version}`);
    }
  }
  return migrations;
}

export interface MigrateOptions {
  /** Target database; default `costwise`. */
  database?: string;
  dir?: string;
  /** A ClickHouse cluster name (CLICKHOUSE_CLUSTER): Replicated* + Distributed tables, ON CLUSTER. Unset: one node. */
  cluster?: string;
}

export interface MigrateResult {
  applied: number[];
  alreadyApplied: number[];
}

/**
 * ClickHouse 18.16 has no `ADD COLUMN IF NOT EXISTS`: a column migration run again (its ledger row
 * lost, or a runner interrupted after the ALTER) fails with "column already exists" (code 44 or 15,
 * depending on the version), which means the statement's work is done.
 */
export function isRepeatedAddColumn(statement: string, err: unknown): boolean {
  if (!/^\s*ALTER\s+TABLE\s+\S+\s+ADD\s+COLUMN\s/i.test(statement)) return false;
  const message = err instanceof Error ? err.message : String(err);
  return /already exists/i.test(message) && /column/i.test(message);
}

/**
 * Apply every migration not yet recorded in `<database>.schema_migrations`, in order.
 * Statements are IF NOT EXISTS (or a repeatable ADD COLUMN), so a migration interrupted half way is simply run again.
 */
export async function migrate(client: ClickHouseClient, opts: MigrateOptions = {}): Promise<MigrateResult> {
  const database = opts.database ?? "costwise";
  const migrations = await loadMigrations(opts.dir);
  const db = sqlIdentifier(database);
  const ledger = sqlIdentifier(`${database}.schema_migrations`);

  const cluster = opts.cluster;
  if (cluster) {
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db.text} ON CLUSTER ${sqlIdentifier(cluster).text}` });
    await client.command({ query: clusterLedgerDdl({ cluster, database }) });
  } else {
    await client.command({ query: sql`CREATE DATABASE IF NOT EXISTS ${db}` });
    // ReplacingMergeTree: two runners racing on a fresh database may both record a version; the
    // duplicates collapse and the GROUP BY below reads one row per version either way.
    await client.command({
      query: sql`CREATE TABLE IF NOT EXISTS ${ledger} (version UInt32, name String, checksum String, applied_at DateTime)
      ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`,
    });
  }
  const clusterState: ClusterState = new Set();
  const rows = await (
    await client.query({ query: sql`SELECT version AS v, any(checksum) AS recorded_checksum FROM ${ledger} GROUP BY version`, format: "JSONEachRow" })
  ).json<{ v: number; recorded_checksum: string }>();
  const recorded = new Map(rows.map((r) => [Number(r.v), r.recorded_checksum]));

  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  for (const m of migrations) {
    const checksum = recorded.get(m.version);
    if (checksum !== undefined) {
      if (checksum !== m.checksum) {
        throw new MigrationError(
          `migration ${m.version} (${m.name}) changed after it was applied to ${database}: add a new migration instead of ` +
            `editing an applied one (a migration not released yet: DROP DATABASE ${database}, or delete version ${m.version} ` +
            `from ${database}.schema_migrations and drop what it created, then run stack:up again)`,
        );
      }
      result.alreadyApplied.push(m.version);
      // Rewritten, not run: later migrations must know which tables are local on a cluster.
      if (cluster) targetStatements(m, database, cluster, clusterState);
      continue;
    }
    for (const statement of targetStatements(m, database, cluster, clusterState)) {
      try {
        await client.command({ query: statement });
      } catch (err) {
        if (isRepeatedAddColumn(statement, err)) continue;
        throw new MigrationError(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}\n${statement}`, { cause: err });
      }
    }
    await client.command({
      query: sql`INSERT INTO ${ledger} (version, name, checksum, applied_at) VALUES (${m.version}, ${m.name}, ${m.checksum}, ${new Date()})`,
    });
    result.applied.push(m.version);
  }
  return result;
}
