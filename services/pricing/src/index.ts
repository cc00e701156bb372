export type { LongContextTier, ModelPrice, PriceCatalog, Provider, UnpricedPolicy } from "./types.ts";
export type { CostBreakdown, PricingMode, Usage } from "./cost.ts";
export { catalog, findModel, providerOfModelId, requireModel, unpricedModel, withUnpricedPolicy } from "./catalog.ts";
export { costOf, usageFromAnthropic, usageFromOpenAI } from "./cost.ts";
export { nanoUsdToUsd, parseUsdPerMTok, sumNanoUsd } from "./money.ts";
export { InvalidPriceError, InvalidUsageError, PricingError, UnknownModelError } from "./errors.ts";
export { attributeSavings, baselineUsageOf, buildCostRecord, NO_USAGE, type CallAccount, type Savings } from "./accounting.ts";
export { LIFECYCLE, lifecycleStatus, servedSuccessor, isoDate, type LifecycleStatus, type ModelLifecycle } from "./lifecycle.ts";
export {
  FINE_TUNE_PRICES_CHECKED, FINE_TUNE_PUBLISHED, FINE_TUNE_RULE, fineTunePriceOf, fineTunedBase, fineTunedBaseId, fineTunedModel, formatUsdPerMTok,
  ruleFineTunePrice, trainingCostNanoUsd, withFineTunePrices, type FineTunePrice,
} from "./fine-tuning.ts";
