/**
 * `npm run stack:down [-- --service <name>]`: stop what stack:up started (all of it, or one
 * service). Data under .costwise/data stays; delete it for a clean slate.
 */
import { parseArgs } from "node:util";
import { SERVICE_NAMES, type ServiceName } from "../config.ts";
import { stopService, stopStack } from "../stack/index.ts";
import { progressLine } from "./progress.ts";

const { values } = parseArgs({
  options: { quiet: { type: "boolean", short: "q", default: false }, service: { type: "string", short: "s" } },
});

async function main(): Promise<void> {
  const log = progressLine("stack:down", !values.quiet);
  if (values.service) {
    if (!(SERVICE_NAMES as readonly string[]).includes(values.service)) {
      throw new Error(`unknown service ${values.service}; one of ${SERVICE_NAMES.join(", ")}`);
    }
    const stopped = await stopService(values.service as ServiceName, { log });
    process.stdout.write(stopped ? `${values.service} stopped\n` : `${values.service} was not running\n`);
    return;
  }
  const { stopped } = await stopStack({ log });
  process.stdout.write(stopped.length > 0 ? `stopped: ${stopped.join(", ")}\n` : "nothing of the stack was running\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`stack:down failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
