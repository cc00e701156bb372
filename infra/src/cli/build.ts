/**
 * `npm run build`: every deployable workspace package compiled to its `dist/` (see infra/src/build.ts).
 * `npm start`, the demo, docker-compose and the Kubernetes manifests run that output with
 * `node --conditions=compiled`; tsx stays for development and tests.
 */
import { parseArgs } from "node:util";
import { buildPackages } from "../build-output.ts";
import { buildPackage } from "../build.ts";

const { values } = parseArgs({ options: { quiet: { type: "boolean", default: false } } });
const started = Date.now();
const packages = buildPackages();
let files = 0;
try {
  for (const [i, pkg] of packages.entries()) {
    const n = buildPackage(pkg);
    files += n;
    if (!values.quiet) console.error(`[build ${i + 1}/${packages.length}] ${pkg.name}: ${n} files`);
  }
} catch (err) {
  console.error(`[build] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
console.error(`[build] ${packages.length} packages, ${files} files in ${Date.now() - started} ms`);
