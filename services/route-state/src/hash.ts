import { createHash } from "node:crypto";
import { fnv1a32 } from "@costwise/seeded";

export { fnv1a32 };

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
