export type {
  ChatMessage,
  ChatContentPart,
  ChatToolCall,
  ChatTool,
  ChatToolChoice,
  ChatResponseFormat,
  ChatRequest,
  ChatResult,
  EmbedRequest,
  EmbedResult,
  Providers,
  ProvidersDeps,
  ProvidersLogger,
} from "./types.ts";
export { providersConfigSchema, parseFallbackModels, type ProvidersConfig } from "./config.ts";
export { createProviders, EMULATOR_API_KEY, resolveEndpoints } from "./providers.ts";
export { countChatTokens, countTextTokens } from "./tokens.ts";
// Request/response mapping and error mapping, for callers of the batch APIs (the batch accumulator).
export { billedOpenAIUsage, buildOpenAIChatParams, parseOpenAIChat } from "./openai-chat.ts";
export { billedAnthropicUsage, buildAnthropicParams, parseAnthropicMessage } from "./anthropic-chat.ts";
export { mapSdkError, type MapContext } from "./errors.ts";
export {
  AuthenticationError,
  InvalidRequestError,
  ModelNotFoundError,
  MalformedResponseError,
  ProviderError,
  ProvidersClosedError,
  ProviderTimeoutError,
  ProviderUnavailableError,
  RateLimitError,
  UnknownModelError,
  parseRetryAfter,
} from "./errors.ts";
export {
  breakEvenReads,
  MAX_CACHE_BREAKPOINTS,
  minCacheableTokens,
  planPromptCache,
  PrefixSightings,
  PROMPT_CACHE_TTL_MS,
  type PlannedBreakpoint,
  type PromptCacheMode,
  type PromptCachePlan,
} from "./prompt-cache.ts";
