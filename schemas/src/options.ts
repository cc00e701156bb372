import type { LlmRequest, Message, ResponseFormat, Tool, ToolChoice } from "./types.ts";

/**
 * The tools, output-format and sampling options of a request with every absent field at its Avro
 * default, so no stage has to know which fields a producer may have left out.
 */
export interface RequestOptions {
  tools: readonly Tool[];
  toolChoice: ToolChoice | null;
  parallelToolCalls: boolean | null;
  responseFormat: ResponseFormat | null;
  stop: readonly string[];
  seed: number | null;
  topP: number | null;
  presencePenalty: number | null;
  frequencyPenalty: number | null;
  reasoningEffort: string | null;
  user: string | null;
}

export function requestOptions(req: LlmRequest): RequestOptions {
  return {
    tools: req.tools ?? [],
    toolChoice: req.tool_choice ?? null,
    parallelToolCalls: req.parallel_tool_calls ?? null,
    responseFormat: req.response_format ?? null,
    stop: req.stop ?? [],
    seed: req.seed ?? null,
    topP: req.top_p ?? null,
    presencePenalty: req.presence_penalty ?? null,
    frequencyPenalty: req.frequency_penalty ?? null,
    reasoningEffort: req.reasoning_effort ?? null,
    user: req.user ?? null,
  };
}

/** True when the request uses tools (definitions, calls or results) anywhere. */
export function usesTools(req: Pick<LlmRequest, "messages" | "tools">): boolean {
  return (req.tools?.length ?? 0) > 0 || req.messages.some((m) => m.role === "tool" || (m.tool_calls?.length ?? 0) > 0);
}

/** True when some message carries an image part. */
export function hasImages(messages: readonly Message[]): boolean {
  return messages.some((m) => m.parts?.some((p) => p.type === "image") ?? false);
}

/** True when the answer must be JSON (json_object or json_schema). */
export function wantsJson(req: Pick<LlmRequest, "response_format">): boolean {
  const t = req.response_format?.type;
  return t === "json_object" || t === "json_schema";
}
