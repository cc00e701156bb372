import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseEnv } from "node:util";

/** The local stack's two gateway tenants, for trying the gateway out and for its tests. */
export const DEMO_TENANTS = [
  { env: "GATEWAY_DEMO_KEY", tenant: "demo" },
  { env: "GATEWAY_DEMO_KEY_2", tenant: "demo-2" },
] as const;

export const DEFAULT_GATEWAY_URL = "http://127.0.0.1:18400";

const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

interface KeyEntry { sha256: string; tenant: string; use_case?: string; name?: string }

/**
 * Demo keys of the local gateway: kept from the previous stack.env when there is one (so clients
 * configured with them keep working), else new random ones. The keys file the gateway reads holds
 * only their sha256, next to any keys an operator added to it.
 */
export async function gatewayDemoEnv(home: string, envFile: string, env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  const previous: Record<string, string | undefined> = existsSync(envFile) ? parseEnv(readFileSync(envFile, "utf8")) : {};
  const keysFile = path.join(home, "gateway", "keys.json");
  let entries: KeyEntry[] = [];
  if (existsSync(keysFile)) {
    try {
      entries = (JSON.parse(readFileSync(keysFile, "utf8")) as { keys?: KeyEntry[] }).keys ?? [];
    } catch {
      entries = [];
    }
  }
  const out: Record<string, string> = { GATEWAY_URL: env.GATEWAY_URL || DEFAULT_GATEWAY_URL, GATEWAY_KEYS_FILE: keysFile };
  for (const demo of DEMO_TENANTS) {
    const key = previous[demo.env] || `cwk-${randomBytes(24).toString("base64url")}`;
    out[demo.env] = key;
    const name = `local ${demo.tenant} key (stack.env ${demo.env})`;
    entries = [...entries.filter((e) => e.name !== name), { sha256: sha256(key), tenant: demo.tenant, use_case: "default", name }];
  }
  await mkdir(path.dirname(keysFile), { recursive: true });
  await writeFile(keysFile, `${JSON.stringify({ keys: entries }, null, 2)}\n`, { mode: 0o600 });
  return out;
}
