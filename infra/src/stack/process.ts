import { execFile, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Start a process that outlives this one: its own process group, stdout and stderr appended to
 * `logFile`, its pid written to `pidFile`. Returns the pid.
 */
export async function spawnDetached(launch: Launch, logFile: string, pidFile: string): Promise<number> {
  mkdirSync(path.dirname(logFile), { recursive: true });
  mkdirSync(path.dirname(pidFile), { recursive: true });
  const fd = openSync(logFile, "a");
  try {
    const child = spawn(launch.command, [...launch.args], {
      cwd: launch.cwd,
      env: launch.env ?? process.env,
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("spawn", () => resolve(child.pid!));
    });
    child.unref();
    await writeFile(pidFile, `${pid}\n`);
    return pid;
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // A detached service outlives the process that spawned it; once it exits it may stay a zombie
  // until init reaps it. A zombie has finished: count it as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (not Linux): signal 0 is all there is
  }
}

/** The command line of a live process (Linux /proc), or undefined. */
async function commandLine(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, "utf8")).replace(/\0/g, " ");
  } catch {
    return undefined;
  }
}

/**
 * The pid recorded in `pidFile` if that process is still ours: alive, and (where /proc exists)
 * its command line still contains `marker`, so a recycled pid is never mistaken for the service.
 */
export async function runningPid(pidFile: string, marker: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile, "utf8");
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  const cmd = await commandLine(pid);
  if (cmd !== undefined && !cmd.includes(marker)) return undefined;
  return pid;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig); // the whole group: a launcher's children go too
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, wait up to `timeoutMs`, then SIGKILL. Resolves once the process is gone. */
export async function stopProcess(pid: number, timeoutMs: number): Promise<"terminated" | "killed"> {
  signal(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return "terminated";
    await sleep(100);
  }
  signal(pid, "SIGKILL");
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
  return "killed";
}

export async function removeFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

/**
 * The last `lines` lines of a text file ("" when it does not exist), starting no earlier than
 * the last line containing `since` (the header of the latest run in an appended log).
 */
export async function tailFile(file: string, lines = 30, since?: string): Promise<string> {
  try {
    let text = await readFile(file, "utf8");
    const at = since ? text.lastIndexOf(since) : -1;
    if (at >= 0) text = text.slice(text.lastIndexOf("\n", at) + 1);
    return text.split("\n").slice(-lines - 1).join("\n");
  } catch {
    return "";
  }
}

export class CommandError extends Error {
  readonly output: string;
  constructor(message: string, output: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.output = output;
  }
}

/** Run a command to completion; rejects with its combined output on a non-zero exit. */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 0, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (err) {
          reject(new CommandError(`${command} ${args.join(" ")} failed: ${err.message.split("\n")[0]}`, output, { cause: err }));
        } else {
          resolve(output);
        }
      },
    );
  });
}
