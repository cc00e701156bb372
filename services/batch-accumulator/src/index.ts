export { batchAccumulatorConfigSchema, loadBatchAccumulatorConfig, type BatchAccumulatorConfig } from "./config.ts";
export { startBatchAccumulator, policyOf, storeOf, SERVICE_NAME, type RunningBatchAccumulator, type StartOptions } from "./service.ts";
export { createProcess, type IntakeDeps, type IntakePort } from "./process.ts";
export { BatchLifecycle, LifecycleStoppedError, type LifecycleDeps, type LifecycleSettings } from "./lifecycle.ts";
export { BatchStore, type BatchRecord, type BatchStatus, type CancelDisposition, type StoreOptions } from "./store.ts";
export { listBatches, cancelBatch, BatchNotFoundError } from "./admin.ts";
