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

const CONTEXT_FRAMING = "Answer using the context below; cite chunk ids in brackets.\n\n";

/** The context block in front of the question: a framing sentence, then `[id] text` per chunk. */
export function renderContext(chunks: readonly ContextChunk[]): string {
  return renderContextParts(chunks).join("");
}

/**
 * `renderContext` in pieces: the framing sentence with its blank line, then one `[id] text` per
 * chunk, each but the last followed by its blank line. Joined, they are `renderContext(chunks)`.
 * Every piece after the first starts with "[" right after a line break, where the o200k_base and
 * cl100k_base pre-tokenisers always cut, so a context's tokens are the sum of its pieces' tokens
 * and a chunk seen before need not be counted again.
 */
export function renderContextParts(chunks: readonly ContextChunk[]): string[] {
  const last = chunks.length - 1;
  return [CONTEXT_FRAMING, ...chunks.map((c, i) => (i < last ? `[${c.id}] ${c.text}\n\n` : `[${c.id}] ${c.text}`))];
}
