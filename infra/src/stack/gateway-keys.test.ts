import { createHash } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { gatewayDemoEnv } from "./gateway-keys.ts";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

describe("the local gateway's demo keys", () => {
  it("creates two keys of tenants demo and demo-2, stores only their hashes, and keeps them and operators' keys across runs", async () => {
    const home = await mkdtemp(path.join(tmpdir(), "cw-gwkeys-"));
    const envFile = path.join(home, "stack.env");
    const first = await gatewayDemoEnv(home, envFile, {});
    expect(first.GATEWAY_URL).toBe("http://127.0.0.1:18400");
    expect(first.GATEWAY_DEMO_KEY).toMatch(/^cwk-[A-Za-z0-9_-]{32}$/);
    expect(first.GATEWAY_DEMO_KEY_2).not.toBe(first.GATEWAY_DEMO_KEY);
    const file = await readFile(first.GATEWAY_KEYS_FILE!, "utf8");
    expect(file).not.toContain(first.GATEWAY_DEMO_KEY);
    const keys = (JSON.parse(file) as { keys: { sha256: string; tenant: string }[] }).keys;
    expect(keys.map((k) => [k.tenant, k.sha256])).toEqual([["demo", sha256(first.GATEWAY_DEMO_KEY!)], ["demo-2", sha256(first.GATEWAY_DEMO_KEY_2!)]]);

    await writeFile(first.GATEWAY_KEYS_FILE!, JSON.stringify({ keys: [...keys, { sha256: sha256("ops"), tenant: "acme", name: "ci" }] }));
    await writeFile(envFile, `GATEWAY_DEMO_KEY=${first.GATEWAY_DEMO_KEY}\nGATEWAY_DEMO_KEY_2=${first.GATEWAY_DEMO_KEY_2}\n`);
    const again = await gatewayDemoEnv(home, envFile, { GATEWAY_URL: "http://127.0.0.1:9999" });
    expect(again.GATEWAY_DEMO_KEY).toBe(first.GATEWAY_DEMO_KEY);
    expect(again.GATEWAY_URL).toBe("http://127.0.0.1:9999");
    const after = (JSON.parse(await readFile(first.GATEWAY_KEYS_FILE!, "utf8")) as { keys: { tenant: string }[] }).keys;
    expect(after.map((k) => k.tenant).sort()).toEqual(["acme", "demo", "demo-2"]);
  });
});
