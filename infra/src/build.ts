import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { BUILD_STAMP, BuildError, isTestFile, sourceFingerprint, walkFiles, type BuildPackage } from "./build-output.ts";

/**
 * The production build of one workspace package: `src/` compiled to JavaScript in `dist/`, one file
 * per source file (same layout, so paths a module computes from its own URL, such as
 * `../config/policy.yaml`, still resolve), relative `.ts` imports rewritten to `.js`, files that are
 * not TypeScript copied along. Type checking is `npm run typecheck`'s job: the build only
 * transpiles, so it takes seconds. Returns the number of files written.
 */
export function buildPackage(pkg: BuildPackage): number {
  const src = path.join(pkg.dir, "src");
  const out = path.join(pkg.dir, "dist");
  // Every module is compiled on its own (the sources are written for isolatedModules), so no
  // program over the whole workspace is needed; ESM because every package is "type": "module".
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    verbatimModuleSyntax: true,
    rewriteRelativeImportExtensions: true,
    sourceMap: true,
  };
  rmSync(out, { recursive: true, force: true });
  let written = 0;
  for (const f of walkFiles(src)) {
    if (isTestFile(f) || f.endsWith(".d.ts")) continue;
    const rel = path.relative(src, f);
    const to = path.join(out, rel);
    mkdirSync(path.dirname(to), { recursive: true });
    if (!f.endsWith(".ts")) {
      // Files a module reads next to itself (the dashboard's page) travel with it.
      cpSync(f, to);
      written++;
      continue;
    }
    const js = to.replace(/\.ts$/, ".js");
    const result = ts.transpileModule(readFileSync(f, "utf8"), { compilerOptions: options, fileName: f, reportDiagnostics: true });
    const errors = (result.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length > 0) throw new BuildError(`${pkg.name} ${rel}: ${ts.flattenDiagnosticMessageText(errors[0]!.messageText, "\n")}`);
    writeFileSync(js, result.outputText.replace(/\/\/# sourceMappingURL=.*$/m, `//# sourceMappingURL=${path.basename(js)}.map`));
    if (result.sourceMapText) writeFileSync(`${js}.map`, result.sourceMapText);
    written++;
  }
  writeFileSync(path.join(out, BUILD_STAMP), JSON.stringify({ package: pkg.name, fingerprint: sourceFingerprint(pkg), builtAt: new Date().toISOString() }) + "\n");
  return written;
}
