import type { TestProject } from "vitest/node";
import { ensureStack } from "../stack/index.ts";
import { progressLine } from "../cli/progress.ts";
import type {} from "./provided.ts";

/**
 * Global setup of the `int` vitest project: make sure the real local stack is up (reusing it when
 * it is), provisioned, and that tests see its endpoints. Fails the run, naming what is missing,
 * when the stack cannot start; integration tests never skip themselves.
 */
export default async function setup(project: TestProject): Promise<void> {
  const info = await ensureStack({ log: progressLine("int setup") });
  // Workers are forked after global setup and inherit process.env; provide() covers pools that
  // do not (read it with stackEnv() from @costwise/infra/testing).
  for (const [k, v] of Object.entries(info.env)) if (!process.env[k]) process.env[k] = v;
  project.provide("costwiseStackEnv", { ...info.env });
}
