import { Redis } from "ioredis";
import { z } from "zod";
import { PeriodicRefresh } from "./periodic.ts";

/*
 * Distilled-model switches. `costwise distill switch` (services/distiller) writes one
 * per tenant and use case once the candidate met its readiness bar; the router then sends the use
 * case to that model as the tier "distilled", shadow-samples it against the frontier tier like
 * any cheap route, and the shadow consumer's rolling agreement puts the route into (and out of)
 * automatic fallback to the frontier tier. The switch needs the use case in the routing policy:
 * its shadow judge, sample rate, rollout and quality floor govern the distilled route too.
 */

/** The route tier (and fallback route key) of a switched use case. */
export const DISTILLED_TIER = "distilled";
/** The Redis hash holding every switch: field = JSON [tenant, use case], value = a DistilledSwitch as JSON. */
export const DEFAULT_DISTILL_SWITCH_KEY = "costwise:distill:switches";

export const distilledSwitchSchema = z
  .object({
    tenant: z.string().min(1),
    useCase: z.string().min(1),
    /** A catalog chat model or a fine-tuned id (ft:<base>:…), at its catalog (fine-tuned) price. */
    model: z.string().min(1),
    /**
     * Percent of the use case's requests (by a hash of the request id) sent to the model: the
     * switch ramps up in steps; the rest is routed as usual. Absent = all of them.
     */
    share: z.number().gt(0).max(100).optional(),
    /** epoch ms */
    since: z.number(),
    /** Shadow agreement, its Wilson 95% lower bound and the comparisons behind them when switched. */
    agreement: z.number().min(0).max(1),
    lower: z.number().min(0).max(1),
    samples: z.number().int().nonnegative(),
  })
  .strict();
export type DistilledSwitch = z.infer<typeof distilledSwitchSchema>;

const fieldOf = (tenant: string, useCase: string) => JSON.stringify([tenant, useCase]);

export interface DistillSwitchStore {
  /** Every switch, by JSON [tenant, use case]; entries that do not parse are reported and left out. */
  all(): Promise<Map<string, DistilledSwitch>>;
  set(sw: DistilledSwitch): Promise<void>;
  /** Remove a switch; false when there was none. */
  clear(tenant: string, useCase: string): Promise<boolean>;
  close(): Promise<void>;
}

function parseEntries(entries: Record<string, string>, onInvalid?: (field: string, err: unknown) => void): Map<string, DistilledSwitch> {
  const out = new Map<string, DistilledSwitch>();
  for (const [field, value] of Object.entries(entries)) {
    try {
      out.set(field, distilledSwitchSchema.parse(JSON.parse(value)));
    } catch (err) {
      onInvalid?.(field, err);
    }
  }
  return out;
}

export function redisDistillSwitchStore(url: string, opts: { key?: string; timeoutMs?: number; onError?: (err: Error) => void } = {}): DistillSwitchStore {
  const redis = new Redis(url, { commandTimeout: opts.timeoutMs ?? 1_000, maxRetriesPerRequest: 1 });
  redis.on("error", (err: Error) => opts.onError?.(err));
  const key = opts.key ?? DEFAULT_DISTILL_SWITCH_KEY;
  return {
    async all() {
      return parseEntries(await redis.hgetall(key), (field, err) => opts.onError?.(new Error(`distill switch ${field} is invalid: ${(err as Error).message}`)));
    },
    async set(sw) {
      await redis.hset(key, fieldOf(sw.tenant, sw.useCase), JSON.stringify(distilledSwitchSchema.parse(sw)));
    },
    async clear(tenant, useCase) {
      return (await redis.hdel(key, fieldOf(tenant, useCase))) === 1;
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export function memoryDistillSwitchStore(): DistillSwitchStore {
  const entries = new Map<string, string>();
  return {
    async all() {
      return parseEntries(Object.fromEntries(entries));
    },
    async set(sw) {
      entries.set(fieldOf(sw.tenant, sw.useCase), JSON.stringify(distilledSwitchSchema.parse(sw)));
    },
    async clear(tenant, useCase) {
      return entries.delete(fieldOf(tenant, useCase));
    },
    async close() {},
  };
}

/**
 * The routing path's view of the switches, re-read every `refreshMs` (one HGETALL), so routing
 * never waits on Redis. If Redis is unreachable the last known switches stay in force.
 */
export class DistillSwitchView extends PeriodicRefresh {
  private switches = new Map<string, DistilledSwitch>();

  constructor(
    private readonly store: Pick<DistillSwitchStore, "all">,
    private readonly opts: { refreshMs: number; onError?: (err: unknown) => void },
  ) {
    super(opts.refreshMs);
  }

  get(tenant: string, useCase: string): DistilledSwitch | null {
    return this.switches.get(fieldOf(tenant, useCase)) ?? null;
  }

  async refresh(): Promise<void> {
    try {
      this.switches = await this.store.all();
    } catch (err) {
      this.opts.onError?.(err);
    }
  }
}

