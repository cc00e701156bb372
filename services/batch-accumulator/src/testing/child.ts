import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
const ENTRY = "services/batch-accumulator/src/main.ts";

export { freePort } from "@costwise/infra";

/** The accumulator as its own Node process, as it runs in production (`node --import tsx .../main.ts`). */
export class AccumulatorProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly exited: Promise<number | NodeJS.Signals | null>,
  ) {}

  static start(env: Record<string, string>, port: number, logFile: string): AccumulatorProcess {
    mkdirSync(path.dirname(logFile), { recursive: true });
    const child = spawn(process.execPath, ["--import", "tsx", ENTRY], {
      cwd: repoRoot,
      env: { ...process.env, ...env, METRICS_PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out = createWriteStream(logFile, { flags: "a" });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal)));
    return new AccumulatorProcess(child, `http://127.0.0.1:${port}`, exited);
  }

  async healthy(timeoutMs = 45_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error("the accumulator exited before it became healthy");
      const ok = await fetch(`${this.url}/health`).then((r) => r.ok, () => false);
      if (ok) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error("the accumulator did not become healthy");
  }

  /** A gauge or counter of the process's /metrics (summed over labels). */
  async metric(name: string): Promise<number> {
    const text = await fetch(`${this.url}/metrics`).then((r) => r.text());
    let sum = 0;
    for (const line of text.split("\n")) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    return sum;
  }

  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.exited;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 20_000);
    await this.exited;
    clearTimeout(t);
  }
}
