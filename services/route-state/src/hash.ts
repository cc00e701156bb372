import { createHash } from "node:crypto";

/** FNV-1a (32 bit) over UTF-16 code units with a seed folded in; fast, stable across processes and releases. */
export function fnv1a32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // Final avalanche: nearby inputs (request ids differing in one digit) land far apart.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A request's position in [0, 100) for one purpose ("rollout", "shadow"). Derived from the
 * request id alone, so a redelivered or replayed request always lands in the same bucket, and
 * the purposes are independent of each other. SHA-256 rather than FNV: the split must be uniform
 * even for sequential ids.
 */
export function percentBucket(requestId: string, purpose: string): number {
  const digest = createHash("sha256").update(`${purpose}\u0000${requestId}`).digest();
  return (digest.readUInt32BE(0) / 2 ** 32) * 100;
}
