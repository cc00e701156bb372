import path from "node:path";
import type { StackConfig } from "../config.ts";
import type { ContainerService } from "./containers.ts";
import { containerSpecs } from "./containers.ts";
import { MissingPrerequisiteError, StackError } from "./errors.ts";
import { CommandError, runCommand } from "./process.ts";
import { which } from "./prereq.ts";

/** True when a Docker engine answers `docker info`. */
export async function dockerEngineAvailable(): Promise<boolean> {
  if (!which("docker")) return false;
  try {
    await runCommand("docker", ["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function composeArgs(config: StackConfig): string[] {
  return ["compose", "-f", path.join(config.repoRoot, "docker-compose.yml")];
}

async function compose(config: StackConfig, args: readonly string[]): Promise<string> {
  if (!which("docker")) {
    throw new MissingPrerequisiteError([{ what: "docker", fix: "install Docker Engine with the compose plugin", neededBy: "kafka" }]);
  }
  try {
    return await runCommand("docker", [...composeArgs(config), ...args], { cwd: config.repoRoot, timeoutMs: config.startTimeoutMs * 3 });
  } catch (err) {
    const output = err instanceof CommandError ? err.output : "";
    throw new StackError(`docker ${[...composeArgs(config), ...args].join(" ")} failed:\n${output.trim().split("\n").slice(-30).join("\n")}`, {
      cause: err,
    });
  }
}

/** `docker compose up -d --wait <services>`: returns once their healthchecks pass. */
export async function composeUp(config: StackConfig, services: readonly ContainerService[]): Promise<void> {
  if (services.length === 0) return;
  const neededBy = services[0]!;
  if (!(await dockerEngineAvailable())) {
    throw new MissingPrerequisiteError([
      { what: "a running Docker engine", fix: "start Docker, or use STACK_MODE=native (no Docker needed)", neededBy },
    ]);
  }
  try {
    await runCommand("docker", ["compose", "version"], { timeoutMs: 10_000 });
  } catch {
    throw new MissingPrerequisiteError([
      { what: "the docker compose plugin", fix: "apt-get install -y docker-compose-plugin, or use STACK_MODE=native", neededBy },
    ]);
  }
  await compose(config, ["up", "-d", "--wait", ...services.map((s) => containerSpecs[s].composeService)]);
}

/** `docker compose stop <service>`: the container and its data stay for the next up. */
export async function composeStop(config: StackConfig, service: ContainerService): Promise<void> {
  await compose(config, ["stop", containerSpecs[service].composeService]);
}
