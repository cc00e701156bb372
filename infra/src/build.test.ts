import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { assertBuilt, BuildError, buildPackages, distEntryOf, sourceFingerprint } from "./build-output.ts";
import { buildPackage } from "./build.ts";
import { serviceArgs, serviceRuntime } from "./services.ts";

function tempPackage(): { name: string; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "cw-build-"));
  mkdirSync(path.join(dir, "src", "public"), { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "@costwise/tmp", type: "module" }));
  writeFileSync(path.join(dir, "src", "index.ts"), 'import type { X } from "./x.ts";\nexport { double } from "./x.ts";\nexport const n: X = 1;\n');
  writeFileSync(path.join(dir, "src", "x.ts"), "export type X = number;\nexport const double = (v: number): number => v * 2;\n");
  writeFileSync(path.join(dir, "src", "x.test.ts"), "throw new Error('tests are not shipped');\n");
  writeFileSync(path.join(dir, "src", "public", "page.html"), "<p>hi</p>");
  return { name: "@costwise/tmp", dir };
}

describe("the build", () => {
  it("compiles each source file to dist/ with .js imports, copies assets, leaves tests out, and runs", async () => {
    const pkg = tempPackage();
    expect(buildPackage(pkg)).toBe(3);
    const index = readFileSync(path.join(pkg.dir, "dist", "index.js"), "utf8");
    expect(index).toContain('from "./x.js"');
    expect(index).not.toContain("import type");
    expect(readFileSync(path.join(pkg.dir, "dist", "public", "page.html"), "utf8")).toBe("<p>hi</p>");
    const mod = (await import(path.join(pkg.dir, "dist", "index.js"))) as { double: (v: number) => number; n: number };
    expect(mod.double(21)).toBe(42);
    expect(() => readFileSync(path.join(pkg.dir, "dist", "x.test.js"))).toThrow();
  });

  it("refuses a missing or stale build output", () => {
    const pkg = tempPackage();
    expect(() => assertBuilt(pkg)).toThrow(/no build output.*npm run build/);
    buildPackage(pkg);
    expect(() => assertBuilt(pkg)).not.toThrow();
    const before = sourceFingerprint(pkg);
    writeFileSync(path.join(pkg.dir, "src", "x.ts"), "export type X = number;\nexport const double = (v: number): number => v * 3;\n");
    expect(sourceFingerprint(pkg)).not.toBe(before);
    expect(() => assertBuilt(pkg)).toThrow(BuildError);
    // Tests are not part of what ships: editing one does not make the build stale.
    buildPackage(pkg);
    writeFileSync(path.join(pkg.dir, "src", "x.test.ts"), "// changed\n");
    expect(() => assertBuilt(pkg)).not.toThrow();
  });

  it("maps a service entry to its build output and runs it with the compiled condition", () => {
    expect(distEntryOf("services/cache/src/main.ts")).toBe("services/cache/dist/main.js");
    expect(distEntryOf("services/analytics/src/alerts/main.ts")).toBe("services/analytics/dist/alerts/main.js");
    expect(() => distEntryOf("services/cache/tools/cli/main.ts")).toThrow(BuildError);
    const spec = { entry: "services/executor/src/main.ts" };
    expect(serviceArgs(spec, "dist")).toEqual(["--conditions=compiled", "services/executor/dist/main.js"]);
    expect(serviceArgs(spec, "tsx", "/repo")).toEqual(["--import", "tsx", "/repo/services/executor/src/main.ts"]);
  });

  it("reads the runtime from COSTWISE_RUNTIME, tsx by default", () => {
    expect(serviceRuntime({})).toBe("tsx");
    expect(serviceRuntime({ COSTWISE_RUNTIME: "dist" })).toBe("dist");
    expect(() => serviceRuntime({ COSTWISE_RUNTIME: "bun" })).toThrow(/tsx or dist/);
  });
});

describe("workspace packages", () => {
  it("each export has a compiled condition pointing at the build output of its source", () => {
    for (const pkg of buildPackages()) {
      const { exports } = JSON.parse(readFileSync(path.join(pkg.dir, "package.json"), "utf8")) as { exports?: Record<string, { compiled?: string; default?: string } | string> };
      for (const [sub, target] of Object.entries(exports ?? {})) {
        expect(typeof target, `${pkg.name} ${sub}`).toBe("object");
        const t = target as { compiled?: string; default?: string };
        expect(t.compiled, `${pkg.name} ${sub}`).toBe(distEntryOf(t.default!.replace(/^\.\//, "")).replace(/^/, "./"));
      }
    }
  });
});
