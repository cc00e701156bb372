import { circles, type RepoGraph } from "./graph.ts";

export type Rule = "kind" | "layers" | "undeclared" | "dev-only" | "package circle" | "file circle";

export interface Violation {
  readonly rule: Rule;
  /** Stable id the allow-list names: "a -> b" for an edge, the members joined by " <-> " for a circle. */
  readonly id: string;
  readonly detail: string;
}

/**
 * The layering rule over manifests and imports:
 * - every workspace package says what it is (`costwise.kind`: library, service, app or test);
 * - a library or a service depends on libraries only, in its manifest's `dependencies` and in the
 *   imports of its production code; test code (`*.test.ts`, `src/testing/`) may start the services
 *   an integration test needs, declared as devDependencies; apps (the CLI) and the test suite
 *   compose services and nothing depends on them;
 * - every workspace import is declared in the manifest, and production code imports no devDependency;
 * - no import circles: between packages (manifests and production imports) and between files.
 */
export function layeringViolations(g: RepoGraph): Violation[] {
  const out: Violation[] = [];
  const kindOf = (name: string) => g.packages.get(name)?.kind;
  for (const p of g.packages.values()) {
    if (!p.kind) out.push({ rule: "kind", id: p.name, detail: `${p.dir}/package.json has no "costwise": { "kind": "library" | "service" | "app" | "test" }` });
  }

  const edges = new Map<string, { manifest: boolean; files: Set<string> }>();
  const edge = (from: string, to: string) => {
    const k = `${from} -> ${to}`;
    let e = edges.get(k);
    if (!e) edges.set(k, (e = { manifest: false, files: new Set() }));
    return e;
  };
  const layered = (name: string) => kindOf(name) === "library" || kindOf(name) === "service";
  for (const p of g.packages.values()) {
    if (!layered(p.name)) continue;
    for (const d of p.dependencies) if (g.packages.has(d) && kindOf(d) !== "library") edge(p.name, d).manifest = true;
  }
  for (const i of g.imports) {
    const p = g.packages.get(i.from);
    if (!p || !g.packages.has(i.to)) continue;
    if (!p.dependencies.includes(i.to) && !p.devDependencies.includes(i.to)) {
      out.push({ rule: "undeclared", id: `${i.from} -> ${i.to}`, detail: `${i.file} imports ${i.to}, which ${p.dir}/package.json does not declare` });
    } else if (!i.test && !p.dependencies.includes(i.to)) {
      out.push({ rule: "dev-only", id: `${i.from} -> ${i.to}`, detail: `${i.file} is production code but ${i.to} is only a devDependency of ${i.from}` });
    }
    if (!i.test && layered(i.from) && kindOf(i.to) !== "library") edge(i.from, i.to).files.add(i.file);
    if (kindOf(i.to) === "app" || kindOf(i.to) === "test") edge(i.from, i.to).files.add(i.file);
  }
  for (const [id, e] of edges) {
    const [from, to] = id.split(" -> ") as [string, string];
    const where = [...(e.manifest ? ["package.json dependencies"] : []), ...[...e.files].sort()];
    out.push({ rule: "layers", id, detail: `${kindOf(from)} ${from} depends on ${kindOf(to)} ${to} (${where.join(", ")})` });
  }

  const graph = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a)!.add(b);
  };
  for (const p of g.packages.values()) for (const d of p.dependencies) if (g.packages.has(d)) link(p.name, d);
  for (const i of g.imports) if (!i.test && g.packages.has(i.to)) link(i.from, i.to);
  for (const c of circles(graph)) out.push({ rule: "package circle", id: c.join(" <-> "), detail: `packages depend on each other in a circle: ${c.join(", ")}` });
  for (const c of g.fileCycles) out.push({ rule: "file circle", id: [...c].sort().join(" <-> "), detail: `import circle: ${[...c, c[0]].join(" → ")}` });
  return out;
}
