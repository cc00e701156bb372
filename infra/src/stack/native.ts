import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ServiceName, StackConfig } from "../config.ts";
import type { Logger } from "@costwise/stream-runtime";
import { MissingPrerequisiteError, type Prerequisite } from "./errors.ts";
import type { StackPaths } from "./paths.ts";
import { aptInstall, installCommand, type AptTool } from "./apt.ts";
import { findJava, missing, which } from "./prereq.ts";
import { runCommand, type Launch } from "./process.ts";

export const APICURIO_VERSION = "3.3.3";
/** Any fixed 16-byte id, base64url: the broker's data dir is formatted once with it. */
export const KAFKA_CLUSTER_ID = "Y29zdHdpc2Uta2Fma2EtMQ";
const KAFKA_POM = "infra/kafka/pom.xml";
const KAFKA_LOG4J = "infra/kafka/log4j2.properties";
const EMULATOR_ENTRY = "services/emulator/src/main.ts";

export interface NativeContext {
  readonly config: StackConfig;
  readonly paths: StackPaths;
  readonly logger: Logger;
  /** Install a missing Redis or ClickHouse with apt-get when running as root on Debian (npm test, npm run demo). */
  readonly installMissing?: boolean;
}

/** Executables resolved once for the services being started. */
export interface Tools {
  java?: string;
  java21?: string;
  mvn?: string;
  tar?: string;
  redisServer?: string;
  clickhouseServer?: string;
}

export interface NativeService {
  readonly name: ServiceName;
  /** A substring of the process command line: tells our process from a recycled pid. */
  readonly marker: string;
  readonly stopTimeoutMs: number;
  /** Fetch artifacts and write config files (idempotent), then say how to launch. */
  prepare(ctx: NativeContext, tools: Tools): Promise<Launch>;
}

/** Find the tools the given services need; throws one error naming everything missing. */
export async function resolveTools(ctx: NativeContext, services: readonly ServiceName[]): Promise<Tools> {
  const tools: Tools = {};
  const lacking: Prerequisite[] = [];
  const need = new Set(services);
  const { paths } = ctx;
  if (need.has("kafka")) {
    const java = await findJava(17);
    if (java) tools.java = java.path;
    else lacking.push(missing("java", "kafka"));
    if (!(await kafkaLibsPresent(ctx))) {
      tools.mvn = which("mvn");
      if (!tools.mvn) lacking.push(missing("mvn", "kafka"));
    }
  }
  if (need.has("schema-registry")) {
    const java21 = await findJava(21, ctx.config.java21, [path.join(paths.home, "venv", "bin", "python3"), "python3"]);
    if (java21) tools.java21 = java21.path;
    else lacking.push(missing("java21", "schema-registry"));
    if (!existsSync(apicurioJar(paths))) {
      tools.tar = which("tar");
      if (!tools.tar) lacking.push(missing("tar", "schema-registry"));
      if (!existsSync(apicurioArchive(paths))) {
        tools.mvn ??= which("mvn");
        if (!tools.mvn) lacking.push(missing("mvn", "schema-registry"));
      }
    }
  }
  const install = async (tool: AptTool) => (ctx.installMissing ? aptInstall(tool, (line) => ctx.logger.info({ tool }, line)) : undefined);
  if (need.has("redis")) {
    tools.redisServer = which("redis-server") ?? (await install("redis-server"));
    // The exact command for this user (sudo unless root); npm test and the demo run it themselves as root on Debian.
    if (!tools.redisServer) lacking.push({ ...missing("redis-server", "redis"), fix: installCommand("redis-server") });
  }
  if (need.has("clickhouse")) {
    tools.clickhouseServer = which("clickhouse-server") ?? (await install("clickhouse-server"));
    if (!tools.clickhouseServer) lacking.push({ ...missing("clickhouse-server", "clickhouse"), fix: installCommand("clickhouse-server") });
  }
  if (need.has("emulator") && !existsSync(path.join(ctx.config.repoRoot, EMULATOR_ENTRY))) {
    lacking.push({ what: EMULATOR_ENTRY, fix: "the provider emulator's entry point is missing from this checkout", neededBy: "emulator" });
  }
  if (lacking.length > 0) {
    const dockerCouldHelp = lacking.some((m) => m.neededBy !== "emulator");
    throw new MissingPrerequisiteError(lacking, dockerCouldHelp ? "(or use STACK_MODE=docker with a running Docker engine)" : undefined);
  }
  return tools;
}

// Services are prepared concurrently; Maven runs one at a time (one local repository).
let mavenQueue: Promise<unknown> = Promise.resolve();
function maven(mvn: string, args: readonly string[], cwd: string): Promise<string> {
  const run = mavenQueue.then(() => runCommand(mvn, args, { cwd }));
  mavenQueue = run.catch(() => undefined);
  return run;
}

// ---------------------------------------------------------------- Kafka

async function kafkaVersion(repoRoot: string): Promise<string> {
  const pom = await readFile(path.join(repoRoot, KAFKA_POM), "utf8");
  const m = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!m) throw new Error(`${KAFKA_POM} has no <kafka.version>`);
  return m[1]!;
}

async function kafkaLibsPresent({ config, paths }: NativeContext): Promise<boolean> {
  return existsSync(path.join(paths.kafkaLibs, `kafka_2.13-${await kafkaVersion(config.repoRoot)}.jar`));
}

/** server.properties of a single combined broker+controller node with a static quorum. */
export function kafkaServerProperties(config: StackConfig, dataDir: string): string {
  const { host, port, controllerPort } = config.kafka;
  return [
    "# Generated by @costwise/infra on every start; edit infra/src/stack/native.ts instead.",
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@${host}:${controllerPort}`,
    "controller.listener.names=CONTROLLER",
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    "inter.broker.listener.name=PLAINTEXT",
    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    `log.dirs=${dataDir}`,
    "num.partitions=1",
    // Topics are created by provisioning with explicit partition counts; a typo must fail loudly.
    "auto.create.topics.enable=false",
    "offsets.topic.replication.factor=1",
    "offsets.topic.num.partitions=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
    "num.network.threads=2",
    "num.io.threads=2",
    "log.segment.bytes=16777216",
    "",
  ].join("\n");
}

const kafka: NativeService = {
  name: "kafka",
  marker: "kafka.Kafka",
  stopTimeoutMs: 30_000,
  async prepare(ctx, tools) {
    const { config, paths, logger } = ctx;
    const java = tools.java!;
    if (!(await kafkaLibsPresent(ctx))) {
      const version = await kafkaVersion(config.repoRoot);
      logger.info({ service: "kafka" }, `fetching Kafka ${version} jars with Maven into ${paths.kafkaLibs} (first run only)`);
      const tmp = `${paths.kafkaLibs}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await maven(
        tools.mvn!,
        ["-q", "-B", "-f", KAFKA_POM, "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies",
          "-DincludeScope=runtime", `-DoutputDirectory=${tmp}`],
        config.repoRoot,
      );
      await rm(paths.kafkaLibs, { recursive: true, force: true });
      await mkdir(path.dirname(paths.kafkaLibs), { recursive: true });
      await rename(tmp, paths.kafkaLibs);
    }
    const dataDir = paths.data("kafka");
    await mkdir(dataDir, { recursive: true });
    await mkdir(paths.kafkaConfig, { recursive: true });
    const props = path.join(paths.kafkaConfig, "server.properties");
    await writeFile(props, kafkaServerProperties(config, dataDir));
    const classpath = `${paths.kafkaLibs}/*`;
    const jvm = [
      "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
      "-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true",
      `-Dlog4j2.configurationFile=${path.join(config.repoRoot, KAFKA_LOG4J)}`,
    ];
    if (!existsSync(path.join(dataDir, "meta.properties"))) {
      logger.info({ service: "kafka" }, `formatting the KRaft log directory ${dataDir}`);
      await runCommand(java, [...jvm, "-cp", classpath, "kafka.tools.StorageTool", "format", "--ignore-formatted",
        "-t", KAFKA_CLUSTER_ID, "-c", props], { cwd: config.repoRoot });
    }
    return { command: java, args: [...jvm, "-cp", classpath, "kafka.Kafka", props], cwd: config.repoRoot };
  },
};

// ---------------------------------------------------------------- Apicurio Registry

function apicurioDir(paths: StackPaths): string {
  return path.join(paths.apicurio, APICURIO_VERSION);
}
function apicurioJar(paths: StackPaths): string {
  return path.join(apicurioDir(paths), "quarkus-run.jar");
}
function apicurioArchive(paths: StackPaths): string {
  return path.join(paths.apicurio, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`);
}

const schemaRegistry: NativeService = {
  name: "schema-registry",
  marker: "quarkus-run.jar",
  stopTimeoutMs: 20_000,
  async prepare({ config, paths, logger }, tools) {
    if (!existsSync(apicurioJar(paths))) {
      await mkdir(paths.apicurio, { recursive: true });
      if (!existsSync(apicurioArchive(paths))) {
        logger.info(
          { service: "schema-registry" },
          `fetching Apicurio Registry ${APICURIO_VERSION} (~160 MB) with Maven into ${paths.apicurio} (first run only)`,
        );
        await maven(
          tools.mvn!,
          ["-q", "-B", "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy",
            `-Dartifact=io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`, `-DoutputDirectory=${paths.apicurio}`],
          config.repoRoot,
        );
      }
      logger.info({ service: "schema-registry" }, `unpacking Apicurio Registry ${APICURIO_VERSION}`);
      const tmp = `${apicurioDir(paths)}.tmp-${process.pid}`;
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      await runCommand(tools.tar!, ["-xzf", apicurioArchive(paths), "-C", tmp]);
      await rm(apicurioDir(paths), { recursive: true, force: true });
      await rename(tmp, apicurioDir(paths));
      // The unpacked tree is what runs; keeping the 160 MB archive as well would only double the cache.
      await rm(apicurioArchive(paths), { force: true });
    }
    const dataDir = paths.data("schema-registry");
    await mkdir(dataDir, { recursive: true });
    const { host, port, managementPort } = config.schemaRegistry;
    return {
      command: tools.java21!,
      args: [
        "-Xms64m", "-Xmx384m",
        "-Djava.util.logging.manager=org.jboss.logmanager.LogManager",
        `-Dquarkus.http.host=${host}`, `-Dquarkus.http.port=${port}`,
        `-Dquarkus.management.host=${host}`, `-Dquarkus.management.port=${managementPort}`,
        "-Dquarkus.http.access-log.enabled=false",
        // H2 on disk instead of the default in-memory database: schema ids must survive a
        // restart, or records already in Kafka would point at ids the registry no longer has.
        `-Dapicurio.datasource.url=jdbc:h2:file:${path.join(dataDir, "registry")}`,
        "-jar", apicurioJar(paths),
      ],
      cwd: dataDir,
    };
  },
};

// ---------------------------------------------------------------- Redis

const redis: NativeService = {
  name: "redis",
  marker: "redis-server",
  stopTimeoutMs: 10_000,
  async prepare({ config, paths }, tools) {
    const dataDir = paths.data("redis");
    await mkdir(dataDir, { recursive: true });
    return {
      command: tools.redisServer!,
      args: ["--port", String(config.redis.port), "--bind", config.redis.host, "--save", "", "--appendonly", "yes",
        "--dir", dataDir, "--daemonize", "no"],
      cwd: dataDir,
    };
  },
};

// ---------------------------------------------------------------- ClickHouse

function xml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** config.xml for a private server: loopback only, our ports, everything under the data dir, UTC. */
export function clickhouseConfigXml(config: StackConfig, dataDir: string): string {
  const d = (sub: string) => xml(path.join(dataDir, sub) + "/");
  // <yandex> is the root element 18.16 requires; current releases still accept it.
  return `<?xml version="1.0"?>
<!-- Generated by @costwise/infra on every start. -->
<yandex>
    <logger><level>warning</level><console>1</console></logger>
    <http_port>${config.clickhouse.port}</http_port>
    <tcp_port>${config.clickhouse.tcpPort}</tcp_port>
    <listen_host>${xml(config.clickhouse.host)}</listen_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>30</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>${d("")}</path>
    <tmp_path>${d("tmp")}</tmp_path>
    <user_files_path>${d("user_files")}</user_files_path>
    <format_schema_path>${d("format_schemas")}</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
`;
}

export function clickhouseUsersXml(config: StackConfig): string {
  return `<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
    <users>
        <${xml(config.clickhouse.username)}>
            <password>${xml(config.clickhouse.password)}</password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </${xml(config.clickhouse.username)}>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;
}

const clickhouse: NativeService = {
  name: "clickhouse",
  marker: "clickhouse",
  stopTimeoutMs: 30_000,
  async prepare({ config, paths }, tools) {
    const dataDir = paths.data("clickhouse");
    await mkdir(dataDir, { recursive: true });
    await mkdir(paths.clickhouseConfig, { recursive: true });
    const configFile = path.join(paths.clickhouseConfig, "config.xml");
    await writeFile(configFile, clickhouseConfigXml(config, dataDir));
    await writeFile(path.join(paths.clickhouseConfig, "users.xml"), clickhouseUsersXml(config));
    return { command: tools.clickhouseServer!, args: [`--config-file=${configFile}`], cwd: paths.clickhouseConfig };
  },
};

// ---------------------------------------------------------------- provider emulator

const emulator: NativeService = {
  name: "emulator",
  marker: "emulator/src/main.ts",
  stopTimeoutMs: 10_000,
  async prepare({ config }) {
    // The child must not believe it runs inside a test worker when started from vitest's setup.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST") && k !== "NODE_OPTIONS"));
    return {
      command: process.execPath,
      args: ["--import", "tsx", EMULATOR_ENTRY],
      cwd: config.repoRoot,
      env: { ...env, EMULATOR_PORT: String(config.emulator.port), EMULATOR_HOST: config.emulator.host },
    };
  },
};

export const nativeServices: Record<ServiceName, NativeService> = {
  kafka,
  "schema-registry": schemaRegistry,
  redis,
  clickhouse,
  emulator,
};
