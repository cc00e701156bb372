/**
 * `costwise report|savings|advise|distill` (npm run costwise -- report --since 7d): the analytics
 * commands of @costwise/analytics with the `distill` commands of @costwise/distiller (which asks
 * the router's policy for its use cases). Composing services is what this app is for; the services themselves never import each other. Reads
 * CLICKHOUSE_URL, CLICKHOUSE_DATABASE, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD and ANALYTICS_SOURCE.
 */
import { analyticsClient, clickhouseQuery, loadClickhouseConfig, runCli } from "@costwise/analytics";
import { distillCliDepsFromEnv, registerDistillCommands } from "@costwise/distiller";
import { DEFAULT_POLICY_FILE, loadPolicy } from "@costwise/router";

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
}, (program) => void registerDistillCommands(program, distillCliDepsFromEnv({
  out: (t) => process.stdout.write(t),
  // A switch needs a use case the router knows: read from the router's policy file.
  routerUseCases: (env, catalog) => new Set(loadPolicy(env.ROUTER_POLICY_FILE || DEFAULT_POLICY_FILE, { catalog }).useCases.keys()),
})));
process.exitCode = code;
