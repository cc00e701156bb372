// TypeScript shapes of the Avro records in ../avro. Kept by hand and checked against the
// schemas by types.test.ts (every field present, every sample valid), so the two cannot drift.

export type Role = "system" | "user" | "assistant" | "tool" | (string & {});
/**
 * One message. The fields after `content` came with the tools/multimodal contract; they are optional
 * here so text-only messages stay `{ role, content }`, and decoded records always carry them.
 */
export interface Message {
  role: Role;
  /** The text; with `parts`, the text parts joined by a newline. */
  content: string;
  /** Empty/absent: the message is its content. Otherwise these parts, in order, are the message. */
  parts?: ContentPart[];
  /** Assistant messages: the tool calls the model made. */
  tool_calls?: ToolCall[];
  /** Tool messages: the call this is the result of. */
  tool_call_id?: string | null;
}
export type ContentPartType = "text" | "image" | (string & {});
export interface ContentPart {
  type: ContentPartType;
  text: string | null;
  /** An https URL or a data: URL. */
  image_url: string | null;
  /** low | high | auto */
  detail: string | null;
}
export interface ToolCall {
  id: string;
  name: string;
  /** JSON text. */
  arguments: string;
}
export interface Tool {
  name: string;
  description: string | null;
  /** The arguments' JSON Schema as JSON text. */
  parameters: string;
  strict: boolean | null;
}
export type ToolChoiceMode = "auto" | "none" | "required" | "tool" | (string & {});
export interface ToolChoice {
  mode: ToolChoiceMode;
  /** mode "tool": the tool that must be called. */
  name: string | null;
}
export type ResponseFormatType = "text" | "json_object" | "json_schema" | (string & {});
export interface ResponseFormat {
  type: ResponseFormatType;
  name: string | null;
  /** json_schema: the JSON Schema as JSON text. */
  schema: string | null;
  strict: boolean | null;
}

export interface ContextChunk { id: string; text: string; score: number }
export type LatencyClass = "REALTIME" | "BATCH";
export type ResponseStatus = "OK" | "ERROR";
export type ServedBy = "REALTIME" | "BATCH" | "CACHE_EXACT" | "CACHE_SEMANTIC";

export interface RouteDecision {
  tier: string;
  model: string;
  provider: string;
  strategy: string;
  score: number | null;
  reason: string;
  shadow: boolean;
  /**
   * The caller's model when it had retired and its documented successor was routed in its place.
   * Optional here so that routes built before this field still type; decoded records always carry it.
   */
  substituted_from?: string | null;
  /** Cascade routes only: the escalation target and the checks the executor runs on the cheap answer. */
  cascade: CascadePlan | null;
}

export interface CascadePlan {
  escalate_tier: string;
  escalate_model: string;
  escalate_provider: string;
  uncertainty_phrases: string[];
  min_chars: number;
  escalate_on_truncation: boolean;
  /** text | json | label */
  format: string;
  labels: string[] | null;
  /** JSON Schema as JSON text. */
  json_schema: string | null;
  pattern: string | null;
}

export interface CompressionInfo {
  strategy: string;
  context_tokens_before: number;
  context_tokens_after: number;
  per_strategy_tokens: Record<string, number>;
}

/** Filled by costwise stages as a request moves through the pipeline; callers leave it null. */
export interface PipelineState {
  stage_ms: Record<string, number>;
  overhead_cost_nanousd: number;
  overhead: Record<string, number>;
  route: RouteDecision | null;
  compression: CompressionInfo | null;
  cache_lookup: string | null;
  /** The query's embedding as the cache computed it, so later stages never embed twice. */
  embedding: QueryEmbedding | null;
}

export interface QueryEmbedding {
  /** The embedder's name; vectors of different models are never compared. */
  model: string;
  /** float32 little-endian (see encodeVector in @costwise/embeddings). */
  vector: Buffer;
}

export interface LlmRequest {
  request_id: string;
  tenant: string;
  use_case: string;
  messages: Message[];
  model: string | null;
  max_tokens: number | null;
  temperature: number | null;
  context: ContextChunk[];
  latency_class: LatencyClass;
  deadline_ms: number | null;
  tags: Record<string, string>;
  /** epoch milliseconds */
  created_at: number;
  // The tools / output-format / sampling fields below are optional for producers that predate them;
  // decoded records always carry them (at their Avro defaults). Read them through `requestOptions`.
  tools?: Tool[];
  tool_choice?: ToolChoice | null;
  parallel_tool_calls?: boolean | null;
  response_format?: ResponseFormat | null;
  stop?: string[];
  seed?: number | null;
  top_p?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  /** minimal | low | medium | high */
  reasoning_effort?: string | null;
  user?: string | null;
  metadata?: Record<string, string>;
  pipeline: PipelineState | null;
}

export interface LlmResponse {
  request_id: string;
  tenant: string;
  use_case: string;
  status: ResponseStatus;
  content: string | null;
  error: string | null;
  error_code: string | null;
  model: string | null;
  provider: string | null;
  served_by: ServedBy;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  latency_ms: number;
  /** stop | length | tool_calls | content_filter; optional for writers that predate it. */
  finish_reason?: string | null;
  tool_calls?: ToolCall[];
  refusal?: string | null;
  /** Part of input_tokens. */
  cache_write_input_tokens?: number;
  /** Part of output_tokens. */
  reasoning_tokens?: number;
  cache_source_request_id: string | null;
  created_at: number;
}

export interface CostRecord {
  request_id: string;
  tenant: string;
  use_case: string;
  ts: number;
  completed_at: number;
  status: ResponseStatus;
  error_code: string | null;
  served_by: ServedBy;
  model_requested: string | null;
  model_used: string | null;
  provider: string | null;
  route_tier: string | null;
  route_strategy: string | null;
  route_score: number | null;
  input_tokens: number;
  cached_input_tokens: number;
  cache_write_input_tokens: number;
  output_tokens: number;
  context_tokens_before: number;
  context_tokens_after: number;
  compression_strategy: string | null;
  cost_nanousd: number;
  overhead_cost_nanousd: number;
  baseline_cost_nanousd: number;
  saving_cache_nanousd: number;
  saving_routing_nanousd: number;
  saving_compression_nanousd: number;
  saving_batch_nanousd: number;
  /** Absent in records written before provider prompt caching was attributed (decoded as 0). */
  saving_prompt_cache_nanousd: number;
  price_catalog_version: string;
  latency_ms: number;
  stage_latency_ms: Record<string, number>;
  attempts: number;
  batch_id: string | null;
  queue_delay_ms: number;
  cache_source_request_id: string | null;
  /** The retired model the caller named, when its documented successor (model_used) served instead. */
  substituted_from: string | null;
  /** Part of output_tokens. */
  reasoning_tokens: number;
  /** Part of cache_write_input_tokens. */
  cache_write_1h_input_tokens: number;
  /** True when the model used had no catalog price: cost_nanousd is 0, the tokens are real. */
  unpriced: boolean;
}

export type BudgetAlertLevel = "PROJECTED" | "EXCEEDED" | "QUALITY_REGRESSION" | "UNPRICED";

export interface BudgetAlert {
  alert_id: string;
  tenant: string;
  use_case: string | null;
  month: string;
  budget_nanousd: number;
  spent_nanousd: number;
  projected_nanousd: number;
  threshold: number;
  level: BudgetAlertLevel;
  message: string;
  /** epoch milliseconds */
  created_at: number;
}

/** A frontier answer captured for distillation (services/distiller); prompt and answer are PII-redacted. */
export interface DistillSample {
  request_id: string;
  tenant: string;
  use_case: string;
  messages: Message[];
  completion: string;
  model: string;
  provider: string | null;
  route_tier: string | null;
  served_by: string;
  input_tokens: number;
  output_tokens: number;
  /** sha256 hex of the normalised redacted messages; export deduplicates on it. */
  prompt_hash: string;
  quality: number | null;
  redactions: Record<string, number>;
  sample_rate: number;
  /** epoch milliseconds */
  created_at: number;
  /** epoch milliseconds */
  captured_at: number;
}

/** A near miss or exploration of the cache, answered by the model, waiting to be judged against its neighbour (services/cache). */
export interface CacheVerification {
  request_id: string;
  tenant: string;
  use_case: string;
  entry_ref: string;
  /** The entry the fresh answer was stored as, when it was. */
  fresh_ref: string | null;
  similarity: number;
  explored: boolean;
  query: string;
  answer: string;
  embedder: string;
  /** epoch milliseconds */
  created_at: number;
  /** The calibration the decision was made in: "agree", "differ" or "single" (null: single). */
  neighbourhood: string | null;
}

/** Whether an answer helped (llm.outcomes): from users, task checks or judges. At least one of success and score is set. */
export interface LlmOutcome {
  request_id: string;
  tenant: string;
  use_case: string;
  success: boolean | null;
  /** In [0, 1]. */
  score: number | null;
  /** user, task, judge (or judge:<name>), or another name. */
  source: string;
  /** epoch milliseconds */
  created_at: number;
  comment: string | null;
}

export interface RecordTypes {
  LlmRequest: LlmRequest;
  LlmResponse: LlmResponse;
  CostRecord: CostRecord;
  BudgetAlert: BudgetAlert;
  DistillSample: DistillSample;
  CacheVerification: CacheVerification;
  LlmOutcome: LlmOutcome;
}
export type RecordName = keyof RecordTypes;

/** Fill the optional parts of a request the way the Avro defaults would. */
export function newRequest(
  req: Pick<LlmRequest, "request_id" | "tenant" | "use_case" | "messages"> & Partial<LlmRequest>,
): LlmRequest {
  return {
    model: null,
    max_tokens: null,
    temperature: null,
    context: [],
    latency_class: "REALTIME",
    deadline_ms: null,
    tags: {},
    created_at: Date.now(),
    tools: [],
    tool_choice: null,
    parallel_tool_calls: null,
    response_format: null,
    stop: [],
    seed: null,
    top_p: null,
    presence_penalty: null,
    frequency_penalty: null,
    reasoning_effort: null,
    user: null,
    metadata: {},
    pipeline: null,
    ...req,
    // As decoded: every message with its parts, tool calls and tool_call_id.
    messages: req.messages.map((m) => ({ parts: [], tool_calls: [], tool_call_id: null, ...m })),
  };
}

export function emptyPipelineState(): PipelineState {
  return { stage_ms: {}, overhead_cost_nanousd: 0, overhead: {}, route: null, compression: null, cache_lookup: null, embedding: null };
}
