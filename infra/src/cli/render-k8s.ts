/** `npm run k8s:render`: write infra/k8s from the service table (infra/src/deploy/k8s.ts). */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "../config.ts";
import { renderManifests } from "../deploy/k8s.ts";

const dir = path.join(REPO_ROOT, "infra", "k8s");
for (const [file, text] of renderManifests()) {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
  console.log(`wrote infra/k8s/${file}`);
}
