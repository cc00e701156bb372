export {
  loadStackConfig,
  enabledServices,
  SERVICE_NAMES,
  STACK_MODES,
  REPO_ROOT,
  StackConfigError,
  type StackConfig,
  type ServiceName,
  type StackMode,
  type Endpoint,
} from "./config.ts";
export * from "./stack/index.ts";
export { sql, sqlLiteral, sqlIdentifier, SqlIdentifier, SqlEncodingError, type SqlValue, type SqlScalar } from "./clickhouse/sql.ts";
export {
  migrate,
  loadMigrations,
  parseMigration,
  splitStatements,
  renderStatements,
  MigrationError,
  MIGRATIONS_DIR,
  type Migration,
  type MigrateOptions,
  type MigrateResult,
} from "./clickhouse/migrate.ts";
export { ensureEmbeddingModel, embeddingModelDir, embeddingModelSpec, EMBEDDING_MODEL, EMBEDDING_MODELS, EMBEDDING_MODEL_NAMES, STACK_EMBEDDING_MODELS, EmbeddingModelError, type EmbeddingModelSpec, type EmbeddingModelName } from "./models/embedding-model.ts";
export { freePort, pipelineServices, serviceArgs, serviceRuntime, spawnService, waitHealthy, stopPipelineService, repoRoot, replicaPort, type PipelineServiceName, type ServiceRuntime, type PipelineServiceSpec, type SpawnedService } from "./services.ts";
export { assertAllBuilt, assertBuilt, buildPackages, distEntryOf, sourceFingerprint, BuildError, COMPILED_CONDITION, type BuildPackage } from "./build-output.ts";
export { Supervisor, SupervisorError, parseReplicas, planInstances, pipelineSupervisor, probeHealth, defaultTimings, type InstanceSpec, type InstanceState, type Probe, type ChildHandle, type SupervisorOptions } from "./supervisor.ts";
