import { findModel, type PriceCatalog } from "@costwise/pricing";
import { ConfigError } from "@costwise/stream-runtime";
import type { BoilerplateStore } from "../boilerplate-store.ts";
import type { CompressionPolicy, StrategyConfig } from "../policy.ts";
import { boilerplateStrategy } from "./boilerplate.ts";
import { extractiveStrategy } from "./extractive.ts";
import { externalStrategy, type ExternalCompressor } from "./external.ts";
import { summariseStrategy, type SummariserChat } from "./summarise.ts";
import { tightenStrategy } from "./tighten.ts";
import type { Strategy } from "./types.ts";

/** What the strategies may need; a policy that uses a strategy whose dependency is missing is a ConfigError. */
export interface StrategyDeps {
  readonly catalog: PriceCatalog;
  readonly now: () => number;
  readonly boilerplateStore?: BoilerplateStore | null;
  readonly chat?: SummariserChat | null;
  readonly external?: ExternalCompressor | null;
  /** Called with a strategy name and an event ("store_error", "call_error", or a fallback reason) for metrics. */
  readonly onEvent?: (strategy: string, event: string) => void;
}

export function createStrategy(cfg: StrategyConfig, deps: StrategyDeps): Strategy {
  const event = (name: string) => (e: string) => deps.onEvent?.(name, e);
  switch (cfg.name) {
    case "tighten":
      return tightenStrategy(cfg);
    case "extractive":
      return extractiveStrategy(cfg);
    case "boilerplate":
      return boilerplateStrategy(cfg, { store: deps.boilerplateStore ?? null, now: deps.now, onStoreError: () => event("boilerplate")("store_error") });
    case "summarise":
      if (!deps.chat) throw new ConfigError("the summarise strategy needs a provider client");
      return summariseStrategy(cfg, { chat: deps.chat, catalog: deps.catalog, onCallError: () => event("summarise")("call_error") });
    case "external":
      if (!deps.external) throw new ConfigError("the external strategy needs COMPRESSION_EXTERNAL_URL");
      return externalStrategy(cfg, { compressor: deps.external, onFallback: event("external") });
  }
}

/** Check everything a policy names before the service starts: models are priced chat models, dependencies exist. */
export function checkPolicy(policy: CompressionPolicy, deps: StrategyDeps): void {
  const all = [["default", policy.default] as const, ...Object.entries(policy.use_cases)];
  for (const [useCase, p] of all) {
    for (const s of p.strategies) {
      if (s.name === "summarise") {
        const m = findModel(deps.catalog, s.model);
        if (!m || m.kind !== "chat") throw new ConfigError(`compression policy ${useCase}: summarise model '${s.model}' is not a chat model in price catalog ${deps.catalog.version}`);
      }
      try {
        createStrategy(s, deps);
      } catch (err) {
        throw new ConfigError(`compression policy ${useCase}: ${(err as Error).message}`);
      }
    }
  }
}

export type { Strategy, StepInput, StepResult, Budget } from "./types.ts";
