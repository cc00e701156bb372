import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/** The services of the local stack, in start order (dependencies first). */
export const SERVICE_NAMES = ["kafka", "schema-registry", "redis", "clickhouse", "emulator"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const STACK_MODES = ["native", "docker", "testcontainers", "auto"] as const;
export type StackMode = (typeof STACK_MODES)[number];

/** The repository root (infra/src/config.ts → ../../). */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export class StackConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

const port = z.coerce.number().int().min(1).max(65535);
const hostPort = z.string().regex(/^[^\s:/]+:\d{1,5}$/, "expected host:port");

// Empty strings mean "unset", as in env files and CI variables.
const optional = z.string().optional().transform((s) => (s === undefined || s.trim() === "" ? undefined : s.trim()));

const envSchema = z.object({
  STACK_MODE: z.enum(STACK_MODES).default("auto"),
  COSTWISE_HOME: optional,
  KAFKA_BROKERS: z
    .string()
    .default("127.0.0.1:19092")
    .transform((s) => s.split(",").map((b) => b.trim()).filter(Boolean))
    .pipe(z.array(hostPort).min(1)),
  KAFKA_CONTROLLER_PORT: port.default(19093),
  SCHEMA_REGISTRY_URL: z.string().url().default("http://127.0.0.1:18081/apis/ccompat/v7"),
  SCHEMA_REGISTRY_MANAGEMENT_PORT: port.default(19001),
  REDIS_URL: z.string().url().default("redis://127.0.0.1:16379"),
  CLICKHOUSE_URL: z.string().url().default("http://127.0.0.1:18123"),
  CLICKHOUSE_TCP_PORT: port.default(19000),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default("costwise"),
  CLICKHOUSE_USER: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
  /** A cluster name from the servers' remote_servers: migrations build Replicated* + Distributed tables ON CLUSTER. Unset: one node. */
  CLICKHOUSE_CLUSTER: optional.pipe(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional()),
  EMULATOR_URL: z.string().url().default("http://127.0.0.1:18090"),
  OPENAI_API_KEY: optional,
  ANTHROPIC_API_KEY: optional,
  COSTWISE_JAVA21: optional,
  STACK_START_TIMEOUT_MS: z.coerce.number().int().positive().default(120_000),
});

export interface Endpoint {
  readonly url: string;
  readonly host: string;
  readonly port: number;
}

export interface StackConfig {
  readonly mode: StackMode;
  readonly repoRoot: string;
  /** Everything the stack writes: artifacts, data, logs, pid files, stack.env. */
  readonly home: string;
  readonly kafka: Endpoint & { readonly brokers: readonly string[]; readonly controllerPort: number };
  readonly schemaRegistry: Endpoint & { readonly managementPort: number };
  readonly redis: Endpoint;
  readonly clickhouse: Endpoint & {
    readonly tcpPort: number;
    readonly database: string;
    readonly username: string;
    readonly password: string;
    readonly cluster?: string;
  };
  /** The provider emulator; disabled only when both real provider keys are set. */
  readonly emulator: Endpoint & { readonly enabled: boolean };
  readonly providerKeys: { readonly openai: boolean; readonly anthropic: boolean };
  readonly java21?: string;
  readonly startTimeoutMs: number;
}

function endpoint(url: string, defaultPort: number): Endpoint {
  const u = new URL(url);
  return { url: url.replace(/\/+$/, ""), host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port ? Number(u.port) : defaultPort };
}

/** Parse the stack settings once, from the environment, with the defaults of the local stack. */
export function loadStackConfig(env: NodeJS.ProcessEnv = process.env, repoRoot: string = REPO_ROOT): StackConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new StackConfigError(`invalid stack configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const [firstBroker] = e.KAFKA_BROKERS;
  const [kHost, kPort] = firstBroker!.split(":") as [string, string];
  const config: StackConfig = {
    mode: e.STACK_MODE,
    repoRoot,
    home: path.resolve(repoRoot, e.COSTWISE_HOME ?? ".costwise"),
    kafka: {
      url: firstBroker!,
      host: kHost,
      port: Number(kPort),
      brokers: e.KAFKA_BROKERS,
      controllerPort: e.KAFKA_CONTROLLER_PORT,
    },
    schemaRegistry: { ...endpoint(e.SCHEMA_REGISTRY_URL, 80), managementPort: e.SCHEMA_REGISTRY_MANAGEMENT_PORT },
    redis: endpoint(e.REDIS_URL, 6379),
    clickhouse: {
      ...endpoint(e.CLICKHOUSE_URL, 8123),
      tcpPort: e.CLICKHOUSE_TCP_PORT,
      database: e.CLICKHOUSE_DATABASE,
      username: e.CLICKHOUSE_USER,
      password: e.CLICKHOUSE_PASSWORD,
      ...(e.CLICKHOUSE_CLUSTER ? { cluster: e.CLICKHOUSE_CLUSTER } : {}),
    },
    emulator: { ...endpoint(e.EMULATOR_URL, 80), enabled: !(e.OPENAI_API_KEY && e.ANTHROPIC_API_KEY) },
    providerKeys: { openai: e.OPENAI_API_KEY !== undefined, anthropic: e.ANTHROPIC_API_KEY !== undefined },
    ...(e.COSTWISE_JAVA21 ? { java21: e.COSTWISE_JAVA21 } : {}),
    startTimeoutMs: e.STACK_START_TIMEOUT_MS,
  };
  assertDistinctPorts(config);
  return config;
}

/** Two local services on one port would each find the other "healthy" or fail to bind. */
function assertDistinctPorts(c: StackConfig): void {
  const local = [
    ["KAFKA_BROKERS", c.kafka.host, c.kafka.port],
    ["KAFKA_CONTROLLER_PORT", c.kafka.host, c.kafka.controllerPort],
    ["SCHEMA_REGISTRY_URL", c.schemaRegistry.host, c.schemaRegistry.port],
    ["SCHEMA_REGISTRY_MANAGEMENT_PORT", c.schemaRegistry.host, c.schemaRegistry.managementPort],
    ["REDIS_URL", c.redis.host, c.redis.port],
    ["CLICKHOUSE_URL", c.clickhouse.host, c.clickhouse.port],
    ["CLICKHOUSE_TCP_PORT", c.clickhouse.host, c.clickhouse.tcpPort],
    ["EMULATOR_URL", c.emulator.host, c.emulator.port],
  ] as const;
  const seen = new Map<string, string>();
  for (const [name, host, p] of local) {
    const key = `${isLoopback(host) ? "loopback" : host}:${p}`;
    const other = seen.get(key);
    if (other) throw new StackConfigError(`invalid stack configuration: ${name} and ${other} both use port ${p}`);
    seen.set(key, name);
  }
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

export function serviceEnabled(config: StackConfig, name: ServiceName): boolean {
  return name !== "emulator" || config.emulator.enabled;
}

/** The services this configuration runs, in start order. */
export function enabledServices(config: StackConfig): ServiceName[] {
  return SERVICE_NAMES.filter((n) => serviceEnabled(config, n));
}
