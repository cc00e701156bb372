export { createEmulator, type Emulator, type EmulatorOptions } from "./server.ts";
export type { EmulatorState } from "./state.ts";
export type { BatchTiming, RuntimeConfig, RuntimeConfigPatch } from "./config.ts";
export { DEFAULT_ANTHROPIC_MODELS, DEFAULT_OPENAI_CHAT_MODELS } from "./config.ts";
export type { FaultKind, FaultSpec, EndpointCategory } from "./faults.ts";
export type { StatsSnapshot } from "./stats.ts";
export { EmulatorNotStartedError, ProviderHttpError } from "./errors.ts";
// Recorded-answer mode: the load body's types, and the answer formats a grader reads back.
export {
  contentKey,
  intentLine,
  modelClass,
  normaliseText,
  NOT_IN_CONTEXT,
  outcomeText,
  readerAnswer,
  statedIntent,
  type ModelClass,
  type RecordedEntryInput,
  type RecordedLoad,
  type RecordedSnapshot,
} from "./recorded.ts";
