import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseEnv } from "node:util";
import { REPO_ROOT, type StackConfig } from "../config.ts";
import { StackError } from "./errors.ts";

/** The variables services and tests need to reach the stack (no secrets). */
export function stackEnvValues(config: StackConfig): Record<string, string> {
  const env: Record<string, string> = {
    KAFKA_BROKERS: config.kafka.brokers.join(","),
    SCHEMA_REGISTRY_URL: config.schemaRegistry.url,
    REDIS_URL: config.redis.url,
    CLICKHOUSE_URL: config.clickhouse.url,
    CLICKHOUSE_DATABASE: config.clickhouse.database,
    CLICKHOUSE_USER: config.clickhouse.username,
  };
  if (config.emulator.enabled) {
    env.EMULATOR_URL = config.emulator.url;
    // Without a real key, each provider SDK talks to the emulator (OpenAI's base URL carries /v1,
    // Anthropic's does not).
    if (!config.providerKeys.openai) env.OPENAI_BASE_URL = `${config.emulator.url}/v1`;
    if (!config.providerKeys.anthropic) env.ANTHROPIC_BASE_URL = config.emulator.url;
  }
  return env;
}

export function renderStackEnv(values: Readonly<Record<string, string>>): string {
  const lines = Object.entries(values).map(([k, v]) => {
    if (/[\s"'#\\]/.test(v)) throw new StackError(`stack.env value of ${k} cannot be written unquoted: ${JSON.stringify(v)}`);
    return `${k}=${v}`;
  });
  return `# Written by \`npm run stack:up\` (@costwise/infra): how to reach the local stack.\n${lines.join("\n")}\n`;
}

export async function writeStackEnv(file: string, values: Readonly<Record<string, string>>): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, renderStackEnv(values));
}

export interface LoadStackEnvOptions {
  /** COSTWISE_HOME; default $COSTWISE_HOME or `<repo>/.costwise`. */
  home?: string;
  /** Also copy the values into this environment (e.g. process.env). */
  into?: NodeJS.ProcessEnv;
  /** With `into`: replace variables already set there (default false: an explicit setting wins). */
  override?: boolean;
}

/** Read `.costwise/stack.env` back, as written by the last successful stack:up. */
export function loadStackEnv(opts: LoadStackEnvOptions = {}): Record<string, string> {
  const home = opts.home ?? path.resolve(REPO_ROOT, process.env.COSTWISE_HOME || ".costwise");
  const file = path.join(home, "stack.env");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new StackError(`${file} does not exist: run \`npm run stack:up\` first`);
  }
  const values = Object.fromEntries(Object.entries(parseEnv(text)).filter((e): e is [string, string] => e[1] !== undefined));
  if (opts.into) {
    for (const [k, v] of Object.entries(values)) {
      if (opts.override || opts.into[k] === undefined || opts.into[k] === "") opts.into[k] = v;
    }
  }
  return values;
}
