import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The same two levels up from src/ and from dist/.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Where the production build puts things and whether it is current: every workspace package's
 * `src/` compiled to its `dist/` (same layout), resolved across packages through the `compiled`
 * export condition (`node --conditions=compiled`). No compiler here, so running services never load one.
 */

export const COMPILED_CONDITION = "compiled";
export const BUILD_STAMP = ".build-stamp.json";

export interface BuildPackage {
  readonly name: string;
  /** Absolute directory of the package. */
  readonly dir: string;
}

export class BuildError extends Error {}

/** Workspace packages with a `src/` to compile (the test workspace is never deployed). */
export function buildPackages(root = repoRoot): BuildPackage[] {
  const dirs = ["schemas", "infra", ...readdirSync(path.join(root, "services")).map((d) => `services/${d}`)];
  return dirs
    .map((d) => path.join(root, d))
    .filter((dir) => existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "src")))
    .map((dir) => ({ name: (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name: string }).name, dir }));
}

export const isTestFile = (f: string) => /\.test\.ts$/.test(f);

export function walkFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walkFiles(p, out);
    else out.push(p);
  }
  return out;
}

/** Fingerprint of a package's shipped sources: what its `dist/` was built from. */
export function sourceFingerprint(pkg: BuildPackage): string {
  const h = createHash("sha256");
  for (const f of walkFiles(path.join(pkg.dir, "src")).filter((f) => !isTestFile(f)).sort()) {
    h.update(path.relative(pkg.dir, f)).update("\0").update(readFileSync(f)).update("\0");
  }
  return h.digest("hex");
}

/** Throws when a package's build output is missing or older than its sources. */
export function assertBuilt(pkg: BuildPackage): void {
  const stamp = path.join(pkg.dir, "dist", BUILD_STAMP);
  if (!existsSync(stamp)) throw new BuildError(`${pkg.name} has no build output (${path.relative(repoRoot, stamp)}): run npm run build`);
  const built = (JSON.parse(readFileSync(stamp, "utf8")) as { fingerprint?: string }).fingerprint;
  if (built !== sourceFingerprint(pkg)) throw new BuildError(`${pkg.name}'s build output is older than its sources: run npm run build`);
}

/** Every deployable package is built and current (what a run of the build output needs). */
export function assertAllBuilt(root = repoRoot): void {
  for (const pkg of buildPackages(root)) assertBuilt(pkg);
}

/** The build output of a source entry such as services/cache/src/main.ts. */
export function distEntryOf(entry: string): string {
  if (!/(^|\/)src\/.+\.ts$/.test(entry)) throw new BuildError(`not a source entry under src/: ${entry}`);
  return entry.replace(/(^|\/)src\//, "$1dist/").replace(/\.ts$/, ".js");
}
