import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../config.ts";
import { ALLOWED } from "./allow-list.ts";
import { circles, repoGraph, type RepoGraph } from "./graph.ts";
import { layeringViolations } from "./rules.ts";

const key = (v: { rule: string; id: string }) => `${v.rule}: ${v.id}`;

describe("layering: libraries below services, no service importing another, no circles", async () => {
  const graph = await repoGraph(REPO_ROOT.replace(/\/$/, ""));
  const violations = layeringViolations(graph);

  it("reads every package's manifest and imports", () => {
    expect(graph.packages.size).toBeGreaterThanOrEqual(18);
    expect(graph.packages.get("@costwise/executor")?.kind).toBe("service");
    expect(graph.packages.get("@costwise/lifecycle")?.kind).toBe("library");
    expect(graph.imports.some((i) => i.from === "@costwise/executor" && i.to === "@costwise/lifecycle" && !i.test)).toBe(true);
  });

  it("has no violation beyond the named, owned allow-list", () => {
    const allowed = new Set(ALLOWED.map(key));
    expect(violations.filter((v) => !allowed.has(key(v))).map((v) => `${key(v)} — ${v.detail}`)).toEqual([]);
  });

  it("has no allow-list entry that no longer matches a violation (remove it)", () => {
    const seen = new Set(violations.map(key));
    expect(ALLOWED.filter((a) => !seen.has(key(a))).map(key)).toEqual([]);
  });
});

describe("layering rules", () => {
  const pkg = (name: string, kind: "library" | "service" | "app" | "test" | undefined, dependencies: string[] = [], devDependencies: string[] = []) =>
    [name, { name, dir: `services/${name.slice(10)}`, kind, dependencies, devDependencies }] as const;
  const g = (over: Partial<RepoGraph>): RepoGraph => ({ packages: new Map(), imports: [], fileCycles: [], ...over });

  it("flags a service importing a service, a library depending on a service, undeclared and dev-only imports, and a missing kind", () => {
    const graph = g({
      packages: new Map([
        pkg("@costwise/a", "service", ["@costwise/lib"], ["@costwise/b"]), pkg("@costwise/b", "service"),
        pkg("@costwise/lib", "library", ["@costwise/b"]), pkg("@costwise/x", undefined), pkg("@costwise/cli", "app", ["@costwise/a", "@costwise/b"]),
      ]),
      imports: [
        { file: "services/a/src/main.ts", from: "@costwise/a", to: "@costwise/b", test: false },
        { file: "services/a/src/a.int.test.ts", from: "@costwise/a", to: "@costwise/b", test: true },
        { file: "services/a/src/x.ts", from: "@costwise/a", to: "@costwise/x", test: false },
        { file: "services/cli/src/main.ts", from: "@costwise/cli", to: "@costwise/a", test: false },
      ],
    });
    expect(layeringViolations(graph).map(key).sort()).toEqual([
      "dev-only: @costwise/a -> @costwise/b",
      "kind: @costwise/x",
      "layers: @costwise/a -> @costwise/b",
      "layers: @costwise/a -> @costwise/x",
      "layers: @costwise/lib -> @costwise/b",
      "undeclared: @costwise/a -> @costwise/x",
    ]);
  });

  it("finds circles between packages and reports file circles", () => {
    expect(circles(new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])], ["d", new Set(["a"])]]))).toEqual([["a", "b", "c"]]);
    expect(circles(new Map([["a", new Set(["b"])], ["b", new Set<string>()]]))).toEqual([]);
    const v = layeringViolations(g({ fileCycles: [["s/y.ts", "s/x.ts"]] }));
    expect(v.map(key)).toEqual(["file circle: s/x.ts <-> s/y.ts"]);
  });
});
