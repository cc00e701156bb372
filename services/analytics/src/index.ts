export { createProgram, runCli, type CliDeps } from "./cli/program.ts";
export { createDashboard, chartJsPath, type DashboardOptions } from "./dashboard/server.ts";
export { startDashboard, type StartDashboardOptions } from "./dashboard/service.ts";
export { dashboardData, scopeOf, type ApiDeps, type ApiParams, type DashboardData } from "./dashboard/api.ts";
export { startAlerts } from "./alerts/service.ts";
export { createAlertChecker, type AlertCheckerDeps, type CheckResult } from "./alerts/checker.ts";
export { createRegressionChecker, regressionAlert, type RegressionCheck, type RegressionCheckerDeps } from "./alerts/regression.ts";
export { outcomePolicyOf } from "./alerts/service.ts";
export { activeBackoffs, pathOutcomes, techniqueOutcomes, useCaseOutcomes, sumOutcomes, type BackoffRow, type OutcomeFigures, type TechniqueOutcomes, type UseCaseOutcomes } from "./outcomes.ts";
export {
  alertFor,
  budgetKey,
  budgetStatus,
  budgetsFileSchema,
  DEFAULT_BUDGETS_FILE,
  loadBudgets,
  monthOf,
  parseBudgets,
  projectMonth,
  type Budget,
  type BudgetStatus,
} from "./budgets.ts";
export { advise, bandFor, perMonth, BANDS, DISTILL_PAYS_CALLS, DISTILL_DOMINATES_CALLS, TECHNIQUES, type Advice, type AdviseInput, type Band, type Candidate, type Technique, type TechniqueAdvice } from "./advise.ts";
export {
  batchShare,
  cacheEffectiveness,
  clickhouseQuery,
  compressionEffectiveness,
  dimensions,
  modelUsage,
  overallTotals,
  routeQuality,
  routeTraffic,
  spendSince,
  trend,
  useCaseTotals,
  ROUTE_SHADOW_COLUMNS,
  type BatchRow,
  type CacheRow,
  type CompressionRow,
  type ModelUsageRow,
  type QueryFn,
  type RouteQuality,
  type RouteQualityRow,
  type RouteRow,
  type Savings,
  type Scope,
  type Totals,
  type TrendPoint,
  type UseCaseRow,
} from "./queries.ts";
export { buildAdvice, buildReport, buildSavings, renderAdvice, renderReport, renderSavings, windowInfo, type AdviceReport, type Report, type SavingsReport, type WindowInfo } from "./reports.ts";
export { costStructure, type StructureRow } from "./structure.ts";
export { buildReview, parseQuarter, nextQuarter, type Quarter, type Review } from "./review/build.ts";
export { renderReviewHtml, renderReviewMarkdown } from "./review/render.ts";
export { source, grainFor, grainWindow, SOURCE_MODES, type Grain, type SourceMode } from "./source.ts";
export { makeFilters, parseSince, type Filters } from "./filters.ts";
export { apportion, formatUsd, parseUsd, toNano, usdDecimal, type Nano } from "./money.ts";
export { renderCsv, renderJson, renderTable, FORMATS, type Column, type Format } from "./render.ts";
export { analyticsClient } from "./clickhouse.ts";
export { alertsConfigSchema, clickhouseConfigSchema, dashboardConfigSchema, loadAlertsConfig, loadClickhouseConfig, loadDashboardConfig, type AlertsConfig, type ClickhouseConfig, type DashboardConfig } from "./config.ts";
export { AnalyticsInputError } from "./errors.ts";
