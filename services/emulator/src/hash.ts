import { createHash, randomBytes } from "node:crypto";
import { seededRandom as mulberry32, fnv1a32 } from "@costwise/seeded";

export { mulberry32, fnv1a32 };

/** JSON with object keys sorted, so that logically equal requests hash equally. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== "object") {
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => stableStringify(item)).join(",")}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
}

export function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** A 32-bit seed taken from the SHA-256 of the text. */
export function seedOf(text: string): number {
  return sha256(text).readUInt32LE(0);
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// Ids are minted several times per request; drawing from a pooled buffer avoids one
// synchronous CSPRNG call per id, which showed up in load profiles.
const POOL_BYTES = 64 * 1024;
let pool = randomBytes(POOL_BYTES);
let poolOffset = 0;

/** Random identifier in the style providers use (prefix + base62), e.g. `chatcmpl-AbC…`. */
export function randomId(prefix: string, length: number): string {
  if (poolOffset + length > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    poolOffset = 0;
  }
  let out = prefix;
  for (let i = 0; i < length; i++) out += BASE62[pool[poolOffset + i]! % 62];
  poolOffset += length;
  return out;
}

/** Fisher–Yates permutation of 0..n-1 driven by the given PRNG. */
export function permutation(n: number, rng: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}

/**
 * The reply seed: model-specific, except for the share `agreement` of prompts (by a hash of the
 * prompt's texts alone) on which every model, of either provider, gives the same answer.
 */
export function agreedSeed(promptTexts: readonly string[], agreement: number, modelSpecific: number): number {
  if (agreement <= 0) return modelSpecific;
  const shared = seedOf(promptTexts.join("\u0000"));
  return (shared % 10_000) / 10_000 < agreement ? shared : modelSpecific;
}
