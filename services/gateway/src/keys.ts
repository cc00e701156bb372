import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "@costwise/stream-runtime";

/**
 * The keys file: gateway API keys by their sha256 (hex), never in clear. A key decides the tenant
 * (never a header the caller controls), its default use case and its rate limit.
 */
export const keysFileSchema = z.object({
  keys: z.array(
    z.object({
      sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256 must be 64 lowercase hex characters"),
      tenant: z.string().min(1).max(128),
      use_case: z.string().min(1).max(128).default("default"),
      /** A label for operators (the key itself is never stored). */
      name: z.string().optional(),
      /** Sustained requests per minute (token bucket refill); the gateway's default when absent. */
      rate_per_minute: z.number().int().positive().optional(),
      /** Bucket size: how many requests may arrive at once. */
      burst: z.number().int().positive().optional(),
    }),
  ),
});
export type KeysFile = z.infer<typeof keysFileSchema>;
export type KeyEntry = KeysFile["keys"][number];

export interface Tenant {
  readonly tenant: string;
  readonly useCase: string;
  /** The key's sha256: the only form of it that reaches logs, metrics and Redis. */
  readonly keyHash: string;
  readonly ratePerMinute: number | undefined;
  readonly burst: number | undefined;
}

export const hashKey = (key: string): string => createHash("sha256").update(key, "utf8").digest("hex");

/** A new key: `cwk-` and 32 random bytes in base64url. Shown once; only its hash is kept. */
export const newKey = (): string => `cwk-${randomBytes(32).toString("base64url")}`;

export class KeyRing {
  private readonly byHash: Map<string, KeyEntry>;

  constructor(file: KeysFile) {
    this.byHash = new Map(file.keys.map((k) => [k.sha256, k]));
    if (this.byHash.size !== file.keys.length) throw new ConfigError("the keys file lists the same key twice");
  }

  static load(path: string): KeyRing {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, "utf8"));
    } catch (err) {
      throw new ConfigError(`cannot read the gateway keys file ${path}: ${(err as Error).message}`);
    }
    const parsed = keysFileSchema.safeParse(raw);
    if (!parsed.success) throw new ConfigError(`invalid gateway keys file ${path}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
    return new KeyRing(parsed.data);
  }

  get size(): number {
    return this.byHash.size;
  }

  /** The tenant of a presented key, or null. */
  lookup(key: string): Tenant | null {
    const hash = hashKey(key);
    const entry = this.byHash.get(hash);
    // The map lookup is by hash already; the constant-time compare keeps the check itself free of timing hints.
    if (!entry || !timingSafeEqual(Buffer.from(entry.sha256, "hex"), Buffer.from(hash, "hex"))) return null;
    return { tenant: entry.tenant, useCase: entry.use_case, keyHash: hash, ratePerMinute: entry.rate_per_minute, burst: entry.burst };
  }
}

/** The key of a call: `Authorization: Bearer …` (OpenAI SDKs) or `x-api-key` (Anthropic SDKs), on either API. */
export function presentedKey(headers: Readonly<Record<string, string | string[] | undefined>>): string | null {
  const xKey = headers["x-api-key"];
  if (typeof xKey === "string" && xKey.trim() !== "") return xKey.trim();
  const auth = headers.authorization;
  if (typeof auth === "string") {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1]!.trim();
  }
  return null;
}
