import { describe, expect, it } from "vitest";
import { cosine, decodeVector, encodeVector } from "./vector.ts";

describe("vectors", () => {
  it("round-trip through float32 little-endian bytes, also from an unaligned buffer", () => {
    const v = Float32Array.from([0.25, -1.5, 3.75e-3, 0]);
    const bytes = encodeVector(v);
    expect(bytes.byteLength).toBe(16);
    const unaligned = Buffer.concat([Buffer.from([9]), bytes]).subarray(1);
    expect(Array.from(decodeVector(unaligned))).toEqual(Array.from(v));
    expect(() => decodeVector(Buffer.alloc(6))).toThrow(/multiple of 4/);
  });

  it("cosine is 1 for the same direction, 0 for orthogonal, -1 for opposite, and refuses mixed sizes", () => {
    expect(cosine([1, 2], [2, 4])).toBeCloseTo(1, 12);
    expect(cosine([1, 0], [0, 3])).toBe(0);
    expect(cosine([1, 1], [-1, -1])).toBeCloseTo(-1, 12);
    expect(cosine([0, 0], [1, 1])).toBe(0);
    expect(() => cosine([1], [1, 2])).toThrow(RangeError);
  });
});
