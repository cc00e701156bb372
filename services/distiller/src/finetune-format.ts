/*
 * The rules of OpenAI's chat fine-tuning JSONL (supervised fine-tuning, "Preparing your dataset"):
 * one JSON object per line with a non-empty `messages` array; each message has a `role` of
 * system / user / assistant and non-empty string `content` (an optional `name`, and `weight` 0/1
 * on assistant messages only); the example must end with the assistant message being trained on;
 * the whole example must fit the model's training-example context length; a file needs at least
 * 10 examples. Export runs every line through this before writing it.
 */

export const OPENAI_MIN_EXAMPLES = 10;
const ROLES = new Set(["system", "user", "assistant"]);
const MESSAGE_KEYS = new Set(["role", "content", "name", "weight"]);

export interface ExampleCheck {
  readonly errors: readonly string[];
}

/** Check one line of a chat fine-tuning file; `tokens` counts the example's messages for the trained model. */
export function checkChatExample(line: string, opts: { maxTokens: number; tokens: (messages: { role: string; content: string }[]) => number }): ExampleCheck {
  const errors: string[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch {
    return { errors: ["not valid JSON"] };
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return { errors: ["not a JSON object"] };
  const extra = Object.keys(doc).filter((k) => k !== "messages" && k !== "tools" && k !== "parallel_tool_calls");
  if (extra.length > 0) errors.push(`unrecognised keys: ${extra.join(", ")}`);
  const messages = (doc as { messages?: unknown }).messages;
  if (!Array.isArray(messages) || messages.length === 0) return { errors: [...errors, "messages is missing or empty"] };
  const valid: { role: string; content: string }[] = [];
  messages.forEach((m: unknown, i) => {
    if (m === null || typeof m !== "object" || Array.isArray(m)) {
      errors.push(`messages[${i}] is not an object`);
      return;
    }
    const msg = m as Record<string, unknown>;
    const unknownKeys = Object.keys(msg).filter((k) => !MESSAGE_KEYS.has(k));
    if (unknownKeys.length > 0) errors.push(`messages[${i}] has unrecognised keys: ${unknownKeys.join(", ")}`);
    if (typeof msg.role !== "string" || !ROLES.has(msg.role)) errors.push(`messages[${i}].role ${JSON.stringify(msg.role)} is not system, user or assistant`);
    if (typeof msg.content !== "string" || msg.content.trim() === "") errors.push(`messages[${i}].content is missing or empty`);
    if (msg.name !== undefined && typeof msg.name !== "string") errors.push(`messages[${i}].name is not a string`);
    if (msg.weight !== undefined && (msg.role !== "assistant" || (msg.weight !== 0 && msg.weight !== 1))) errors.push(`messages[${i}].weight must be 0 or 1 and only on assistant messages`);
    if (msg.role === "system" && i !== 0) errors.push(`messages[${i}] is a system message after the first position`);
    if (typeof msg.role === "string" && typeof msg.content === "string") valid.push({ role: msg.role, content: msg.content });
  });
  const last = messages[messages.length - 1] as { role?: unknown } | null;
  if (!last || last.role !== "assistant") errors.push("the last message is not the assistant's answer");
  if (!messages.some((m: unknown) => (m as { role?: unknown } | null)?.role === "user")) errors.push("no user message");
  if (errors.length === 0) {
    const n = opts.tokens(valid);
    if (n > opts.maxTokens) errors.push(`example is ${n} tokens, over the ${opts.maxTokens}-token training example limit`);
  }
  return { errors };
}

/** Check a whole chat fine-tuning file's text: per-line errors (1-based line numbers) and file-level errors. */
export function checkChatFile(text: string, opts: { maxTokens: number; tokens: (messages: { role: string; content: string }[]) => number; minExamples?: number }): { lines: { line: number; errors: readonly string[] }[]; file: string[]; examples: number } {
  const rows = text.split("\n").filter((l, i, all) => l !== "" || i < all.length - 1);
  const lines = rows.map((l, i) => ({ line: i + 1, errors: l.trim() === "" ? ["empty line"] : checkChatExample(l, opts).errors })).filter((r) => r.errors.length > 0);
  const file: string[] = [];
  const min = opts.minExamples ?? OPENAI_MIN_EXAMPLES;
  if (rows.length < min) file.push(`${rows.length} examples; OpenAI requires at least ${min}`);
  return { lines, file, examples: rows.length };
}
