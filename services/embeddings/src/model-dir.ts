import path from "node:path";
import { fileURLToPath } from "node:url";

// Same depth from src/ and dist/, so the compiled build resolves the same folder.
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Where `npm run stack:up` puts a local model: `$COSTWISE_HOME/models/<model>`, else the repository's
 * `.costwise/models/<model>`. Every service resolves its default model directory here, so a stack
 * started under another COSTWISE_HOME is found by all of them.
 */
export function localModelDir(model: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.COSTWISE_HOME?.trim() || path.join(repoRoot, ".costwise");
  return path.join(home, "models", model);
}
