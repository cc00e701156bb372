import path from "node:path";
import { describe, expect, it } from "vitest";
import { localModelDir } from "./model-dir.ts";

describe("localModelDir", () => {
  it("follows COSTWISE_HOME", () => {
    expect(localModelDir("bge-small-en-v1.5-q", { COSTWISE_HOME: "/srv/cw" })).toBe("/srv/cw/models/bge-small-en-v1.5-q");
  });
  it("falls back to the repository's .costwise folder when COSTWISE_HOME is unset or blank", () => {
    const dir = localModelDir("all-MiniLM-L6-v2", { COSTWISE_HOME: "  " });
    expect(dir.endsWith(path.join(".costwise", "models", "all-MiniLM-L6-v2"))).toBe(true);
    expect(path.isAbsolute(dir)).toBe(true);
    expect(dir).not.toContain(path.join("services", "embeddings"));
  });
});
