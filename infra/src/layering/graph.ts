import { readFileSync, existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { cruise } from "dependency-cruiser";

/** What a package is, from its manifest's `costwise.kind`. */
export type PackageKind = "library" | "service" | "app" | "test";
export const KINDS: readonly PackageKind[] = ["library", "service", "app", "test"];

export interface WorkspacePackage {
  readonly name: string;
  /** Relative to the repository root, e.g. services/executor. */
  readonly dir: string;
  readonly kind: PackageKind | undefined;
  readonly dependencies: readonly string[];
  readonly devDependencies: readonly string[];
}

export interface ImportEdge {
  /** Importing file, relative to the repository root. */
  readonly file: string;
  readonly from: string;
  /** The imported workspace package (subpath exports such as /testing folded in). */
  readonly to: string;
  /** Test code: *.test.ts files and src/testing/ harnesses, which may start the services they test with. */
  readonly test: boolean;
}

export interface RepoGraph {
  readonly packages: ReadonlyMap<string, WorkspacePackage>;
  readonly imports: readonly ImportEdge[];
  /** Import circles between files, each as the files in order. */
  readonly fileCycles: readonly (readonly string[])[];
}

const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;

/** The workspace packages named by the root manifest's `workspaces` (plain paths and `dir/*`). */
export function workspacePackages(root: string): Map<string, WorkspacePackage> {
  const globs = (readJson(path.join(root, "package.json")).workspaces ?? []) as string[];
  const dirs = globs.flatMap((g) =>
    g.endsWith("/*") ? readdirSync(path.join(root, g.slice(0, -2)), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `${g.slice(0, -2)}/${d.name}`) : [g],
  );
  const out = new Map<string, WorkspacePackage>();
  for (const dir of dirs) {
    const file = path.join(root, dir, "package.json");
    if (!existsSync(file)) continue;
    const m = readJson(file);
    const kind = (m.costwise as { kind?: string } | undefined)?.kind;
    out.set(m.name as string, {
      name: m.name as string, dir, kind: KINDS.includes(kind as PackageKind) ? (kind as PackageKind) : undefined,
      dependencies: Object.keys((m.dependencies ?? {}) as object), devDependencies: Object.keys((m.devDependencies ?? {}) as object),
    });
  }
  return out;
}

const isTestFile = (file: string) => /\.(test|int\.test|e2e\.test)\.ts$/.test(file) || /\/src\/testing\//.test(file);
const packageOf = (specifier: string) => specifier.split("/").slice(0, 2).join("/");

/** Every package's TypeScript imports, read by dependency-cruiser, with the file-level circles it finds. */
export async function repoGraph(root: string): Promise<RepoGraph> {
  const packages = workspacePackages(root);
  const byDir = [...packages.values()].sort((a, b) => b.dir.length - a.dir.length);
  const owner = (file: string) => byDir.find((p) => file.startsWith(`${p.dir}/`));
  const cwd = process.cwd();
  process.chdir(root);
  let result;
  try {
    result = await cruise(
      [...packages.values()].map((p) => p.dir),
      { exclude: { path: "node_modules|/public/" }, doNotFollow: { path: "node_modules" }, tsPreCompilationDeps: true, moduleSystems: ["es6"], validate: false },
      { extensions: [".ts", ".js", ".mjs"] },
    );
  } finally {
    process.chdir(cwd);
  }
  const output = result.output;
  if (typeof output === "string") throw new Error("dependency-cruiser returned text instead of a result");
  const imports: ImportEdge[] = [];
  const cycles = new Map<string, string[]>();
  for (const m of output.modules) {
    const from = owner(m.source);
    if (!from || !m.source.endsWith(".ts")) continue;
    for (const d of m.dependencies) {
      if (d.module.startsWith("@costwise/")) {
        const to = packageOf(d.module);
        if (to !== from.name) imports.push({ file: m.source, from: from.name, to, test: isTestFile(m.source) });
      }
      if (d.circular && d.cycle) {
        const files = [m.source, ...d.cycle.map((c) => c.name)].slice(0, -1);
        // One entry per circle, whichever file it was found from.
        const key = [...files].sort().join("\n");
        if (!cycles.has(key)) cycles.set(key, files);
      }
    }
  }
  return { packages, imports, fileCycles: [...cycles.values()] };
}

/** Circles in a directed graph (Tarjan's strongly connected components of more than one node, or a self-loop). */
export function circles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || edges.get(v)?.has(v)) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}
