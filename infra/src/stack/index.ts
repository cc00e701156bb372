export {
  ensureStack,
  stopStack,
  startService,
  stopService,
  resolveMode,
  lineLogger,
  type EnsureStackOptions,
  type StackOptions,
  type StackInfo,
  type ServiceState,
  type RunMode,
} from "./stack.ts";
export { loadStackEnv, stackEnvValues, type LoadStackEnvOptions } from "./env-file.ts";
export { StackError, MissingPrerequisiteError, ServiceStartError, type Prerequisite } from "./errors.ts";
export { isHealthy } from "./health.ts";
export { stackPaths, type StackPaths } from "./paths.ts";
export { provision, provisionTopics, registerSchemas, applyMigrations, type ProvisionResult } from "./provision.ts";
export { containerSpecs, type ContainerSpec, type ContainerService } from "./containers.ts";
