import { usesTools, wantsJson, type LlmRequest } from "@costwise/schemas";

/** What the router looks at in a request: text, shape and tags, never the caller's identity. */
export interface RouteInput {
  /** The last user message. */
  readonly lastUser: string;
  /** Every user message, oldest first, joined by blank lines (the conversation as the user wrote it). */
  readonly userText: string;
  readonly userTurns: number;
  readonly systemChars: number;
  readonly contextChunks: number;
  readonly contextChars: number;
  readonly maxTokens: number | null;
  readonly tags: Readonly<Record<string, string>>;
  /** Tools defined, called or answered (rule condition `hasTools`; not a classifier feature). */
  readonly usesTools?: boolean;
  /** The answer must be JSON (rule condition `jsonOutput`; not a classifier feature). */
  readonly jsonOutput?: boolean;
}

// Features and keyword rules look at a bounded prefix: a 200 kB paste must not cost 200 kB of regex work.
const MAX_CHARS = 12_000;

export function routeInputOf(req: Pick<LlmRequest, "messages" | "context" | "max_tokens" | "tags" | "tools" | "response_format">): RouteInput {
  const users = req.messages.filter((m) => m.role === "user").map((m) => m.content);
  const system = req.messages.filter((m) => m.role === "system" || m.role === "developer");
  return {
    lastUser: (users.at(-1) ?? "").slice(0, MAX_CHARS),
    userText: users.join("\n\n").slice(-MAX_CHARS),
    userTurns: users.length,
    systemChars: system.reduce((n, m) => n + m.content.length, 0),
    contextChunks: req.context.length,
    contextChars: req.context.reduce((n, c) => n + c.text.length, 0),
    maxTokens: req.max_tokens,
    tags: req.tags,
    usesTools: usesTools(req),
    jsonOutput: wantsJson(req),
  };
}

/** A route input from plain user turns (offline evaluation rows, benchmarks). */
export function routeInputFromTurns(turns: readonly string[], extra: Partial<Omit<RouteInput, "lastUser" | "userText" | "userTurns">> = {}): RouteInput {
  return {
    lastUser: (turns.at(-1) ?? "").slice(0, MAX_CHARS),
    userText: turns.join("\n\n").slice(-MAX_CHARS),
    userTurns: turns.length,
    systemChars: extra.systemChars ?? 0,
    contextChunks: extra.contextChunks ?? 0,
    contextChars: extra.contextChars ?? 0,
    maxTokens: extra.maxTokens ?? null,
    tags: extra.tags ?? {},
  };
}
