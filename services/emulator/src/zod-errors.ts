import type { ZodError, ZodIssue } from "zod";

/** `messages[0].content` — the parameter path notation OpenAI uses in `param`. */
export function openAiParamPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const segment of path) {
    out += typeof segment === "number" ? `[${segment}]` : out.length === 0 ? segment : `.${segment}`;
  }
  return out;
}

/** `messages.0.content` — the dotted notation Anthropic uses in its messages. */
export function anthropicParamPath(path: readonly (string | number)[]): string {
  return path.join(".");
}

export function firstIssue(error: ZodError): ZodIssue {
  return error.issues[0] ?? { code: "custom", path: [], message: "Invalid request" };
}

export function isMissing(issue: ZodIssue): boolean {
  return issue.code === "invalid_type" && issue.received === "undefined";
}
