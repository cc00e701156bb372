/**
 * `npm run stack:up [-- --quiet] [-- --service <name>]`: bring the local stack up (reusing what
 * is already healthy), provision it and print its endpoints.
 */
import { parseArgs } from "node:util";
import { SERVICE_NAMES, type ServiceName } from "../config.ts";
import { ensureStack, startService } from "../stack/index.ts";
import { progressLine } from "./progress.ts";

const { values } = parseArgs({
  options: { quiet: { type: "boolean", short: "q", default: false }, service: { type: "string", short: "s" } },
});

async function main(): Promise<void> {
  const t0 = Date.now();
  const log = progressLine("stack:up", !values.quiet);
  if (values.service) {
    if (!(SERVICE_NAMES as readonly string[]).includes(values.service)) {
      throw new Error(`unknown service ${values.service}; one of ${SERVICE_NAMES.join(", ")}`);
    }
    const state = await startService(values.service as ServiceName, { log });
    process.stdout.write(`${state.name}: ${state.status}${state.mode ? ` (${state.mode})` : ""} in ${Date.now() - t0} ms\n`);
    return;
  }
  // npm test starts here: on a fresh Debian machine as root, a missing Redis or ClickHouse is installed.
  const info = await ensureStack({ log, installMissing: true });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const summary = info.services.map((s) => `${s.name} ${s.status}`).join(", ");
  if (values.quiet) {
    process.stdout.write(`stack ready in ${secs}s (${summary})\n`);
    return;
  }
  const width = Math.max(...Object.keys(info.env).map((k) => k.length));
  process.stdout.write(
    `\nstack ready in ${secs}s${info.mode ? ` (started: ${info.mode})` : " (all reused)"}: ${summary}\n` +
      Object.entries(info.env).map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n") +
      `\nwritten to ${info.envFile}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`stack:up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
