export { sourceRank, normaliseSource, outcomeProblem, assertOutcome, succeeded, effectiveOutcome, InvalidOutcomeError, SOURCE_RANK, OTHER_SOURCE_RANK, SCORE_SUCCESS_THRESHOLD } from "./outcome.ts";
export { normalCdf, normalQuantile, wilsonInterval, regressionTest, type Proportion, type RegressionPolicy, type RegressionTest } from "./stats.ts";
export { compareTechniques, backoffFor, DEFAULT_OUTCOME_POLICY, type Comparison, type OutcomePolicy, type PathOutcomes } from "./regression.ts";
export {
  BackoffView, redisBackoffStore, memoryBackoffStore, backoffSchema, routeTechnique, CACHE_TECHNIQUE, DEFAULT_BACKOFF_KEY,
  type Backoff, type BackoffStore,
} from "./backoff.ts";
