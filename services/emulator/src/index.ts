export { createEmulator, type Emulator, type EmulatorOptions } from "./server.ts";
export type { EmulatorState } from "./state.ts";
export {
  DEFAULT_ANTHROPIC_MODELS,
  DEFAULT_EMBEDDING_MODELS,
  DEFAULT_OPENAI_CHAT_MODELS,
  RuntimeConfigPatchSchema,
  type BatchTiming,
  type RuntimeConfig,
  type RuntimeConfigPatch,
} from "./config.ts";
export { FaultSpecSchema, FAULT_KINDS, ENDPOINT_CATEGORIES, type FaultKind, type FaultSpec, type EndpointCategory } from "./faults.ts";
export type { StatsSnapshot } from "./stats.ts";
export { EmulatorNotStartedError, ProviderHttpError } from "./errors.ts";
