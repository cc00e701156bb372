import { emptyPipelineState, type LlmRequest, type PipelineState } from "@costwise/schemas";

/**
 * The request with `ms` added to its time in `stage` (pipeline.stage_ms). Adding rather than
 * setting keeps the time of a stage a request passes through more than once (a batch retried).
 */
export function recordStage(req: LlmRequest, stage: string, ms: number): LlmRequest {
  const p = req.pipeline ?? emptyPipelineState();
  return { ...req, pipeline: { ...p, stage_ms: { ...p.stage_ms, [stage]: (p.stage_ms[stage] ?? 0) + Math.max(0, Math.round(ms)) } } };
}

/**
 * The pipeline state with `nanoUsd` charged to `source` (pipeline.overhead, whose key decides
 * which technique's saving it is taken from) and to the request's total overhead.
 */
export function chargeOverhead(p: PipelineState, source: string, nanoUsd: number): PipelineState {
  if (nanoUsd === 0) return p;
  return { ...p, overhead: { ...p.overhead, [source]: (p.overhead[source] ?? 0) + nanoUsd }, overhead_cost_nanousd: p.overhead_cost_nanousd + nanoUsd };
}

/** The request with `nanoUsd` of costwise's own spend charged to `source` (see chargeOverhead). */
export function chargeRequest(req: LlmRequest, source: string, nanoUsd: number): LlmRequest {
  if (nanoUsd === 0) return req;
  return { ...req, pipeline: chargeOverhead(req.pipeline ?? emptyPipelineState(), source, nanoUsd) };
}
