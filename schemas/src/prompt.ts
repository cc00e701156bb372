import type { ContextChunk, LlmRequest, Message } from "./types.ts";

/**
 * The messages actually sent to the model: retrieved context chunks are rendered, with their ids
 * as citations, in front of the last user message. Every stage that counts prompt tokens
 * (executor, compression, cache, cost records) renders through this one function. Tool calls,
 * tool results and content parts pass through unchanged.
 */
export function renderMessages(req: Pick<LlmRequest, "messages" | "context">): Message[] {
  if (req.context.length === 0) return req.messages.map(copy);
  const lastUser = req.messages.map((m) => m.role).lastIndexOf("user");
  const block = renderContext(req.context);
  return req.messages.map((m, i) => {
    if (i !== lastUser) return copy(m);
    const out = { ...copy(m), content: `${block}\n\nQuestion: ${m.content}` };
    if (m.parts && m.parts.length > 0) out.parts = [{ type: "text", text: block, image_url: null, detail: null }, ...m.parts];
    return out;
  });
}

function copy(m: Message): Message {
  const out: Message = { role: m.role, content: m.content };
  if (m.parts && m.parts.length > 0) out.parts = m.parts.map((p) => ({ ...p }));
  if (m.tool_calls && m.tool_calls.length > 0) out.tool_calls = m.tool_calls.map((c) => ({ ...c }));
  if (m.tool_call_id != null) out.tool_call_id = m.tool_call_id;
  return out;
}

export function renderContext(chunks: readonly ContextChunk[]): string {
  const body = chunks.map((c) => `[${c.id}] ${c.text}`).join("\n\n");
  return `Answer using the context below; cite chunk ids in brackets.\n\n${body}`;
}
