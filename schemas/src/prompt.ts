import type { ContextChunk, LlmRequest, Message } from "./types.ts";

/**
 * The messages actually sent to the model: retrieved context chunks are rendered, with their ids
 * as citations, in front of the last user message. Every stage that counts prompt tokens
 * (executor, compression, cache, cost records) renders through this one function.
 */
export function renderMessages(req: Pick<LlmRequest, "messages" | "context">): Message[] {
  if (req.context.length === 0) return req.messages.map((m) => ({ role: m.role, content: m.content }));
  const lastUser = req.messages.map((m) => m.role).lastIndexOf("user");
  const block = renderContext(req.context);
  return req.messages.map((m, i) =>
    i === lastUser ? { role: m.role, content: `${block}\n\nQuestion: ${m.content}` } : { role: m.role, content: m.content },
  );
}

export function renderContext(chunks: readonly ContextChunk[]): string {
  const body = chunks.map((c) => `[${c.id}] ${c.text}`).join("\n\n");
  return `Answer using the context below; cite chunk ids in brackets.\n\n${body}`;
}
