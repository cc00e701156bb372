/**
 * `costwise report|savings|advise|distill` (npm run costwise -- report --since 7d; `distill` comes from @costwise/distiller). Reads CLICKHOUSE_URL,
 * CLICKHOUSE_DATABASE, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD and ANALYTICS_SOURCE from the environment.
 */
import { distillCliDepsFromEnv, registerDistillCommands } from "@costwise/distiller";
import { analyticsClient } from "../clickhouse.ts";
import { loadClickhouseConfig } from "../config.ts";
import { clickhouseQuery } from "../queries.ts";
import { runCli } from "./program.ts";

const config = loadClickhouseConfig();
const code = await runCli(process.argv.slice(2), {
  connect: async () => {
    const client = analyticsClient(config);
    return { query: clickhouseQuery(client), close: () => client.close() };
  },
  database: config.CLICKHOUSE_DATABASE,
  defaultSource: config.ANALYTICS_SOURCE,
  now: () => new Date(),
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
}, (program) => void registerDistillCommands(program, distillCliDepsFromEnv({ out: (t) => process.stdout.write(t) })));
process.exitCode = code;
