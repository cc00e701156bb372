import { describe, expect, it } from "vitest";
import { ScopedAnnIndex } from "./ann.ts";

const unit = (...xs: number[]) => {
  const v = Float32Array.from(xs);
  const n = Math.hypot(...xs);
  return v.map((x) => x / n);
};
const entry = (ref: string, expiresAt = 10_000, tenant = "acme", useCase = "faq") => ({ ref, tenant, useCase, expiresAt });

describe("scoped ANN index", () => {
  it("finds the nearest vectors of one scope only, most similar first, with cosine similarity", () => {
    const idx = new ScopedAnnIndex({ dimensions: 3 });
    idx.add("s1", entry("a"), unit(1, 0, 0));
    idx.add("s1", entry("b"), unit(1, 1, 0));
    idx.add("s2", entry("c"), unit(1, 0, 0));
    const hits = idx.search("s1", unit(1, 0.1, 0), 5, 0);
    expect(hits.map((h) => h.entry.ref)).toEqual(["a", "b"]);
    expect(hits[0]!.similarity).toBeCloseTo(0.995, 3);
    expect(idx.search("s3", unit(1, 0, 0), 5, 0)).toEqual([]);
  });

  it("ignores a second add of the same entry (replays, the change feed)", () => {
    const idx = new ScopedAnnIndex({ dimensions: 3 });
    expect(idx.add("s", entry("a"), unit(1, 0, 0))).toBe(true);
    expect(idx.add("s", entry("a"), unit(0, 1, 0))).toBe(false);
    expect(idx.size).toBe(1);
  });

  it.each([
    ["searched exactly", 1_000],
    ["given an HNSW graph once they grow past the exact-scan limit", 8],
  ])("finds the same neighbours in scopes %s, and reuses the room of removed vectors", (_name, exactScanLimit) => {
    const idx = new ScopedAnnIndex({ dimensions: 2, exactScanLimit });
    for (let i = 0; i < 50; i++) idx.add("s", entry(`e${i}`), unit(Math.cos(i / 10), Math.sin(i / 10)));
    expect(idx.size).toBe(50);
    expect(idx.graphCount).toBe(exactScanLimit < 50 ? 1 : 0);
    const near = idx.search("s", unit(Math.cos(2.5), Math.sin(2.5)), 3, 0).map((n) => n.entry.ref);
    expect(near[0]).toBe("e25");
    expect(near.slice(1).sort()).toEqual(["e24", "e26"]);
    idx.remove("e25");
    expect(idx.search("s", unit(Math.cos(2.5), Math.sin(2.5)), 1, 0)[0]!.entry.ref).not.toBe("e25");
    idx.add("s", entry("new"), unit(Math.cos(2.5), Math.sin(2.5)));
    expect(idx.search("s", unit(Math.cos(2.5), Math.sin(2.5)), 1, 0)[0]!.entry.ref).toBe("new");
    expect(idx.size).toBe(50);
  });

  it("drops expired vectors when it meets them and on sweep", () => {
    const idx = new ScopedAnnIndex({ dimensions: 2 });
    idx.add("s", entry("old", 100), unit(1, 0));
    idx.add("s", entry("young", 1_000), unit(1, 0.2));
    expect(idx.search("s", unit(1, 0), 5, 500).map((h) => h.entry.ref)).toEqual(["young"]);
    expect(idx.has("old")).toBe(false);
    expect(idx.sweep(2_000)).toBe(1);
    expect(idx.size).toBe(0);
    expect(idx.scopeCount).toBe(0);
  });

  it("removes by tenant and use case (invalidation)", () => {
    const idx = new ScopedAnnIndex({ dimensions: 2 });
    idx.add("s1", entry("a", 10_000, "acme", "faq"), unit(1, 0));
    idx.add("s2", entry("b", 10_000, "acme", "chat"), unit(1, 0));
    idx.add("s3", entry("c", 10_000, "globex", "faq"), unit(1, 0));
    expect(idx.removeWhere((e) => e.tenant === "acme" && e.useCase === "faq")).toBe(1);
    expect(idx.removeWhere((e) => e.tenant === "acme")).toBe(1);
    expect(idx.has("c")).toBe(true);
    expect(idx.size).toBe(1);
  });

  it("refuses a vector of the wrong dimension", () => {
    expect(() => new ScopedAnnIndex({ dimensions: 3 }).add("s", entry("a"), unit(1, 0))).toThrow(RangeError);
  });
});
