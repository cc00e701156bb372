import { existsSync } from "node:fs";
import { which } from "./prereq.ts";
import { runCommand } from "./process.ts";

/** Debian packages of the daemons the native stack runs from the distribution. */
export const APT_PACKAGES = { "redis-server": ["redis-server"], "clickhouse-server": ["clickhouse-server", "clickhouse-client"] } as const;
export type AptTool = keyof typeof APT_PACKAGES;

export interface AptHost {
  readonly isRoot: boolean;
  readonly debian: boolean;
  readonly aptGet: string | undefined;
}

export function aptHost(): AptHost {
  return { isRoot: process.getuid?.() === 0, debian: existsSync("/etc/debian_version"), aptGet: which("apt-get") };
}

/** Installing is ours to do only as root on Debian/Ubuntu with apt-get; otherwise the user gets the command. */
export function canInstall(host: AptHost): boolean {
  return host.isRoot && host.debian && host.aptGet !== undefined;
}

/** The exact command that installs `tool` (with sudo for a non-root user). */
export function installCommand(tool: AptTool, host: AptHost = aptHost()): string {
  return `${host.isRoot ? "" : "sudo "}apt-get install -y ${APT_PACKAGES[tool].join(" ")}`;
}

/**
 * Install a missing daemon with apt-get (non-interactive; `apt-get update` first when the package
 * lists do not know it). Returns its path afterwards, or undefined when it is still missing.
 */
export async function aptInstall(tool: AptTool, log: (line: string) => void, host: AptHost = aptHost()): Promise<string | undefined> {
  if (!canInstall(host)) return undefined;
  const pkgs = APT_PACKAGES[tool];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  log(`${tool} is missing: installing ${pkgs.join(" ")} with apt-get (running as root on Debian)…`);
  const install = () => runCommand(host.aptGet!, ["install", "-y", "--no-install-recommends", ...pkgs], { env, timeoutMs: 900_000 });
  try {
    await install();
  } catch {
    log("apt-get install failed; refreshing the package lists (apt-get update) and trying again…");
    await runCommand(host.aptGet!, ["update"], { env, timeoutMs: 600_000 });
    await install();
  }
  const found = which(tool);
  log(found ? `${tool} installed: ${found}` : `${tool} still not found after apt-get install`);
  return found;
}
