/** One server-sent event, with how far through the output (0..1) the stream is once it is sent. */
export interface StreamEvent {
  /** SSE `event:` field (Anthropic names its events; OpenAI does not). */
  event?: string;
  /** JSON payload, or a raw string sent verbatim (OpenAI's `[DONE]`). */
  data: unknown;
  progress: number;
}

export function encodeSse(event: StreamEvent): string {
  const data = typeof event.data === "string" ? event.data : JSON.stringify(event.data);
  return event.event ? `event: ${event.event}\ndata: ${data}\n\n` : `data: ${data}\n\n`;
}

/**
 * When (ms after the request started) an event should be sent: the first byte after the
 * time-to-first-token, then output tokens at a steady rate.
 */
export function eventDueMs(progress: number, outputTokens: number, ttftMs: number, perOutputTokenMs: number): number {
  return ttftMs + perOutputTokenMs * outputTokens * progress;
}
