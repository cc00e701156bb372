import { Redis } from "ioredis";
import { z } from "zod";
import { costOf, findModel, type ModelPrice, type PriceCatalog, type Usage } from "@costwise/pricing";
import type { LlmRequest } from "@costwise/schemas";
import { percentBucket } from "./hash.ts";
import type { UseCasePolicy } from "./policy.ts";
import type { RouteDeps, RouteOutcome, ShadowEntry } from "./route.ts";

/*
 * Distilled-model switches (issue 8). `costwise distill switch` (services/distiller) writes one
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
    /** A catalog chat model or a fine-tuned id (ft:<base>:…), priced at its base model. */
    model: z.string().min(1),
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
export class DistillSwitchView {
  private switches = new Map<string, DistilledSwitch>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Pick<DistillSwitchStore, "all">,
    private readonly opts: { refreshMs: number; onError?: (err: unknown) => void },
  ) {}

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

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }
}

// The same reference call shape as route.ts uses for "is this tier cheaper".
const REFERENCE_USAGE: Usage = { inputTokens: 1000, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 250 };
const referenceCost = (m: ModelPrice) => costOf(m, REFERENCE_USAGE).totalNanoUsd;
const fmt = (x: number) => x.toFixed(2);

/**
 * The route of a request whose use case is switched to a distilled model, or null to route it
 * as usual (the model is not a priced chat model, or is not cheaper than the frontier model).
 * While the distilled route is in fallback the request goes to the frontier tier, still
 * shadow-sampled against the distilled model so the route can recover.
 */
export function decideDistilled(
  req: LlmRequest,
  uc: UseCasePolicy,
  sw: DistilledSwitch,
  frontier: ModelPrice,
  deps: Pick<RouteDeps, "fallback" | "renderMessages"> & { readonly catalog: PriceCatalog },
): RouteOutcome | null {
  const model = findModel(deps.catalog, sw.model);
  if (!model || model.kind !== "chat" || referenceCost(model) >= referenceCost(frontier)) return null;
  const last = uc.tiers[uc.tiers.length - 1]!;
  const fb = deps.fallback(uc.useCase, DISTILLED_TIER);
  const sampled = percentBucket(req.request_id, "shadow") < uc.shadow.sampleRate * 100;
  const shadow = (served: ModelPrice): ShadowEntry | null =>
    sampled
      ? {
          request_id: req.request_id, tenant: req.tenant, use_case: req.use_case, created_at: req.created_at, strategy: DISTILLED_TIER, score: null,
          cheapTier: DISTILLED_TIER, frontierTier: last.name, cheapModel: model.id, frontierModel: frontier.id, servedModel: served.id,
          fallback: fb !== null, messages: deps.renderMessages(req), maxTokens: req.max_tokens, temperature: req.temperature,
        }
      : null;
  const switched = `distilled model ${model.id} (switched with shadow agreement ${fmt(sw.agreement)}, 95% lower bound ${fmt(sw.lower)}, over ${sw.samples} comparisons)`;
  if (fb) {
    const entry = shadow(frontier);
    const why = `fallback: route ${DISTILLED_TIER} agreement ${fmt(fb.agreement)} < floor ${fmt(fb.floor)} over ${fb.samples} comparisons; ${switched}`;
    return { route: { tier: last.name, model: frontier.id, provider: frontier.provider, strategy: DISTILLED_TIER, score: null, reason: why, shadow: entry !== null }, kind: "fallback", overheadNanoUsd: 0, shadow: entry };
  }
  const entry = shadow(model);
  return { route: { tier: DISTILLED_TIER, model: model.id, provider: model.provider, strategy: DISTILLED_TIER, score: null, reason: switched, shadow: entry !== null }, kind: "distilled", overheadNanoUsd: 0, shadow: entry };
}
