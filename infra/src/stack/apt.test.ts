import { describe, expect, it } from "vitest";
import { aptInstall, canInstall, installCommand } from "./apt.ts";

const root = { isRoot: true, debian: true, aptGet: "/usr/bin/apt-get" };

describe("installing Redis and ClickHouse on Debian", () => {
  it("installs only as root on Debian with apt-get", () => {
    expect(canInstall(root)).toBe(true);
    expect(canInstall({ ...root, isRoot: false })).toBe(false);
    expect(canInstall({ ...root, debian: false })).toBe(false);
    expect(canInstall({ ...root, aptGet: undefined })).toBe(false);
  });

  it("prints the exact command otherwise, with sudo for a normal user", () => {
    expect(installCommand("redis-server", root)).toBe("apt-get install -y redis-server");
    expect(installCommand("clickhouse-server", { ...root, isRoot: false })).toBe("sudo apt-get install -y clickhouse-server clickhouse-client");
  });

  it("does not touch apt when it may not install", async () => {
    const lines: string[] = [];
    expect(await aptInstall("redis-server", (l) => lines.push(l), { ...root, isRoot: false })).toBeUndefined();
    expect(lines).toEqual([]);
  });
});
