import { sqlIdentifier } from "./sql.ts";

/**
 * The cluster form of the migrations (CLICKHOUSE_CLUSTER set): every statement runs ON CLUSTER;
 * each *MergeTree table becomes a Replicated*MergeTree table `<name>_local` on every node plus a
 * Distributed table under the original name over it, so that the services and the queries keep
 * using the names they know. Materialized views are built on each node over the local tables (a
 * view sees the inserts of its own node) and read through a Distributed table; plain views read
 * the Distributed tables. Rows are sharded by a hash of the table's ORDER BY key, so that every
 * version of a request lands on one shard and ReplacingMergeTree still collapses them.
 *
 * Migration files stay single-node SQL: this is a rewrite of their statements, by rules small
 * enough to check in a unit test; a statement without a cluster form is an error, never guessed.
 */
export class ClusterMigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export interface ClusterTarget {
  readonly cluster: string;
  readonly database: string;
}

/** Tables (and materialized views) turned into `_local` + Distributed so far, across migrations. */
export type ClusterState = Set<string>;

const NAME = String.raw`((?:\x60[^\x60]+\x60|[A-Za-z_][A-Za-z0-9_]*)\.(?:\x60[^\x60]+\x60|[A-Za-z_][A-Za-z0-9_]*))`;
const unquote = (s: string) => s.replace(/`/g, "");

/** `db.t` → `db.t_local`, keeping the identifiers quoted as the runner writes them. */
function localName(qualified: string): string {
  const [db, table] = unquote(qualified).split(".") as [string, string];
  return `${sqlIdentifier(db).text}.${sqlIdentifier(`${table}_local`).text}`;
}

function parts(qualified: string): { db: string; table: string } {
  const [db, table] = unquote(qualified).split(".") as [string, string];
  return { db, table };
}

/** The expression between ORDER BY and the next clause, without its parentheses. */
function orderKey(statement: string): string {
  const m = /\bORDER BY\s+([\s\S]+?)(?=\s+(?:SETTINGS|POPULATE|AS\s+SELECT|PRIMARY KEY|SAMPLE BY|TTL)\b|$)/i.exec(statement);
  if (!m) throw new ClusterMigrationError(`no ORDER BY to shard by in: ${statement.slice(0, 80)}…`);
  const key = m[1]!.trim();
  return key.startsWith("(") && key.endsWith(")") ? key.slice(1, -1).trim() : key;
}

/** `ENGINE = XMergeTree(args)` → the replicated engine with its ZooKeeper path and replica macro. */
function replicatedEngine(statement: string, target: { db: string; table: string }): string {
  return statement.replace(/ENGINE\s*=\s*(\w*)MergeTree\s*\(([^)]*)\)/i, (_m, kind: string, args: string) => {
    const zkPath = `'/clickhouse/tables/{shard}/${target.db}/${target.table}_local'`;
    const rest = args.trim() ? `, ${args.trim()}` : "";
    return `ENGINE = Replicated${kind}MergeTree(${zkPath}, '{replica}'${rest})`;
  });
}

function distributed(qualified: string, cluster: string, shardKey: string): string {
  const { db, table } = parts(qualified);
  const c = sqlIdentifier(cluster).text;
  return `CREATE TABLE IF NOT EXISTS ${qualified} ON CLUSTER ${c} AS ${localName(qualified)}\nENGINE = Distributed(${c}, ${sqlIdentifier(db).text}, ${sqlIdentifier(`${table}_local`).text}, cityHash64(${shardKey}))`;
}

/** Sources of a SELECT that were made local: a view on a node reads that node's rows only. */
function readLocal(statement: string, state: ClusterState): string {
  return statement.replace(new RegExp(String.raw`\b(FROM|JOIN)\s+${NAME}`, "gi"), (m, kw: string, name: string) =>
    state.has(unquote(name)) ? `${kw} ${localName(name)}` : m,
  );
}

/** The cluster statements of one single-node statement (already rendered for its database). */
export function clusterStatements(statement: string, target: ClusterTarget, state: ClusterState): string[] {
  const c = sqlIdentifier(target.cluster).text;
  const s = statement.trim();
  let m: RegExpExecArray | null;

  if ((m = /^CREATE DATABASE IF NOT EXISTS\s+(\S+)$/i.exec(s))) return [`CREATE DATABASE IF NOT EXISTS ${m[1]} ON CLUSTER ${c}`];

  if ((m = new RegExp(String.raw`^CREATE TABLE IF NOT EXISTS\s+${NAME}\s*(\([\s\S]*)$`, "i").exec(s))) {
    const [, name, body] = m as unknown as [string, string, string];
    if (!/ENGINE\s*=\s*\w*MergeTree\s*\(/i.test(body)) throw new ClusterMigrationError(`table ${name}: only *MergeTree tables have a cluster form`);
    state.add(unquote(name));
    const local = replicatedEngine(`CREATE TABLE IF NOT EXISTS ${localName(name)} ON CLUSTER ${c}\n${body}`, { ...parts(name), db: target.database });
    return [local, distributed(name, target.cluster, orderKey(body))];
  }

  if ((m = new RegExp(String.raw`^CREATE MATERIALIZED VIEW IF NOT EXISTS\s+${NAME}\s+(ENGINE[\s\S]*)$`, "i").exec(s))) {
    const [, name, body] = m as unknown as [string, string, string];
    const key = orderKey(body);
    const local = replicatedEngine(readLocal(`CREATE MATERIALIZED VIEW IF NOT EXISTS ${localName(name)} ON CLUSTER ${c}\n${body}`, state), { ...parts(name), db: target.database });
    state.add(unquote(name));
    return [local, distributed(name, target.cluster, key)];
  }

  if ((m = new RegExp(String.raw`^CREATE VIEW IF NOT EXISTS\s+${NAME}\s+(AS[\s\S]*)$`, "i").exec(s))) {
    return [`CREATE VIEW IF NOT EXISTS ${m[1]} ON CLUSTER ${c}\n${m[2]}`];
  }

  if ((m = new RegExp(String.raw`^ALTER TABLE\s+${NAME}\s+((?:ADD|DROP|MODIFY|COMMENT) COLUMN[\s\S]*)$`, "i").exec(s))) {
    const [, name, change] = m as unknown as [string, string, string];
    if (!state.has(unquote(name))) return [`ALTER TABLE ${name} ON CLUSTER ${c} ${change}`];
    // The local tables hold the data; the Distributed table must show the same columns.
    return [`ALTER TABLE ${localName(name)} ON CLUSTER ${c} ${change}`, `ALTER TABLE ${name} ON CLUSTER ${c} ${change}`];
  }

  if ((m = new RegExp(String.raw`^DROP (TABLE|VIEW) IF EXISTS\s+${NAME}$`, "i").exec(s))) {
    const [, kind, name] = m as unknown as [string, string, string];
    if (!state.delete(unquote(name))) return [`DROP ${kind} IF EXISTS ${name} ON CLUSTER ${c}`];
    return [`DROP TABLE IF EXISTS ${name} ON CLUSTER ${c}`, `DROP ${kind} IF EXISTS ${localName(name)} ON CLUSTER ${c}`];
  }

  throw new ClusterMigrationError(`no cluster form for this statement (write it as CREATE … IF NOT EXISTS, ALTER TABLE … COLUMN or DROP … IF EXISTS): ${s.slice(0, 120)}`);
}

/** The ledger of applied migrations on a cluster: one replicated table shared by every node. */
export function clusterLedgerDdl(target: ClusterTarget): string {
  const c = sqlIdentifier(target.cluster).text;
  const ledger = sqlIdentifier(`${target.database}.schema_migrations`).text;
  return `CREATE TABLE IF NOT EXISTS ${ledger} ON CLUSTER ${c} (version UInt32, name String, checksum String, applied_at DateTime)
      ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/all/${target.database}/schema_migrations', '{replica}', applied_at) ORDER BY version`;
}
