import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { heapGrowingFlag } from "./service.ts";

describe("heapGrowingFlag", () => {
  it("names V8's growing factor, or nothing for 0", () => {
    expect(heapGrowingFlag(20)).toBe("--heap-growing-percent=20");
    expect(heapGrowingFlag(0)).toBeNull();
  });

  // setFlagsFromString ignores a flag V8 does not know, so a Node upgrade that dropped it would
  // silently bring back the default growth; the command line refuses an unknown one.
  it("is a flag this Node's V8 accepts", () => {
    const known = spawnSync(process.execPath, [heapGrowingFlag(20)!, "-e", "0"], { encoding: "utf8" });
    expect(known.status, known.stderr).toBe(0);
    const unknown = spawnSync(process.execPath, ["--heap-growing-percentage-nonexistent=20", "-e", "0"], { encoding: "utf8" });
    expect(unknown.status).not.toBe(0);
  });
});
