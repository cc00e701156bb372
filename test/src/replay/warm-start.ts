import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "@costwise/infra";
import { ReplayError } from "./consistency.ts";
import { REPLAY_TENANT, USE_CASES } from "./workload.ts";

const CLI = path.join(repoRoot, "services/cache/tools/cli/main.ts");

/**
 * Seeds the replay cache's calibration from labelled queries before the services start, with the
 * cache's own `calibrate` command against the run's cache prefix, so the calibrated cache can serve
 * from its first requests. The labelled file must not be one of the replayed files: evidence from
 * the graded traffic itself would flatter the result.
 */
export async function warmStartCache(file: string, replayed: readonly string[], env: Record<string, string | undefined>, log: (line: string) => void): Promise<void> {
  const resolved = path.resolve(file);
  if (replayed.some((f) => path.resolve(f) === resolved)) throw new ReplayError(`--cache-calibration ${file} is also replayed: seed the calibration from other labelled queries`);
  log(`cache calibration warm start from ${file} (tenant ${REPLAY_TENANT}, use case ${USE_CASES.cache.useCase})`);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", CLI, "calibrate", "--tenant", REPLAY_TENANT, "--use-case", USE_CASES.cache.useCase, "--from", resolved],
    { env: { ...process.env, ...env }, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
  );
  log(`  ${stdout.trim().split("\n")[0]}`);
}
