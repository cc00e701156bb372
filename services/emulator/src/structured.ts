import { mulberry32 } from "./hash.ts";

// Deterministic structured output: tool-call arguments and JSON answers that validate against the
// caller's JSON Schema, and image token costs from the image's size. All pure functions of the
// request, like the emulator's text replies.

type Schema = Record<string, unknown>;

const MAX_DEPTH = 8;

/** Words of the question that can serve as string values (capitalised ones first: names, places). */
function candidateWords(question: string): string[] {
  const words = question.match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? [];
  const named = words.filter((w, i) => i > 0 && /^\p{Lu}/u.test(w));
  const long = words.filter((w) => w.length > 3);
  // The best kind present only: names, else long words, else any word.
  return [...new Set(named.length > 0 ? named : long.length > 0 ? long : words)];
}

function resolveRef(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = root;
  for (const part of ref.slice(2).split("/")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[part.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return typeof node === "object" && node !== null ? (node as Schema) : undefined;
}

/**
 * A value valid against `schema` (the common JSON Schema keywords: type, const, enum, $ref,
 * anyOf/oneOf/allOf, properties/required, items/minItems/maxItems, string length and formats,
 * number bounds and multipleOf). Every listed property is filled, as strict structured outputs
 * require; strings come from the question's words so answers read as tied to the prompt.
 */
export function schemaInstance(schema: unknown, seed: number, question: string): unknown {
  const rng = mulberry32(seed);
  const words = candidateWords(question);
  const root = (typeof schema === "object" && schema !== null ? schema : {}) as Schema;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

  const gen = (s: Schema, name: string, depth: number): unknown => {
    if (typeof s.$ref === "string") {
      const target = resolveRef(root, s.$ref);
      return target && depth < MAX_DEPTH ? gen(target, name, depth + 1) : null;
    }
    if ("const" in s) return s.const;
    if (Array.isArray(s.enum) && s.enum.length > 0) return pick(s.enum);
    for (const key of ["anyOf", "oneOf"] as const) {
      const options = s[key];
      if (Array.isArray(options) && options.length > 0) {
        // The first non-null branch: a nullable field still gets a value.
        const branch = (options.find((o) => (o as Schema)?.type !== "null") ?? options[0]) as Schema;
        return gen({ ...s, [key]: undefined, ...branch }, name, depth + 1);
      }
    }
    if (Array.isArray(s.allOf)) {
      const merged: Schema = { ...s, allOf: undefined };
      for (const part of s.allOf as Schema[]) {
        Object.assign(merged, part, { properties: { ...(merged.properties as object), ...(part.properties as object) }, required: [...((merged.required as string[]) ?? []), ...((part.required as string[]) ?? [])] });
      }
      return gen(merged, name, depth + 1);
    }
    const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === "string" ? [s.type] : [];
    const type = types.find((t) => t !== "null") ?? types[0] ?? (s.properties ? "object" : s.items ? "array" : "string");
    switch (type) {
      case "object": {
        const out: Record<string, unknown> = {};
        if (depth >= MAX_DEPTH) return out;
        const props = (s.properties ?? {}) as Record<string, Schema>;
        for (const [key, sub] of Object.entries(props)) out[key] = gen(sub ?? {}, key, depth + 1);
        return out;
      }
      case "array": {
        if (depth >= MAX_DEPTH) return [];
        const min = typeof s.minItems === "number" ? s.minItems : 1;
        const max = typeof s.maxItems === "number" ? s.maxItems : Math.max(min, 3);
        const n = Math.min(max, Math.max(min, 1 + Math.floor(rng() * 2)));
        const items = (Array.isArray(s.prefixItems) ? null : s.items) as Schema | undefined;
        if (Array.isArray(s.prefixItems)) return (s.prefixItems as Schema[]).map((p) => gen(p, name, depth + 1));
        return Array.from({ length: n }, () => gen(items ?? {}, name, depth + 1));
      }
      case "integer":
      case "number": {
        const lo = typeof s.minimum === "number" ? s.minimum : typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum + 1 : 0;
        const hi = typeof s.maximum === "number" ? s.maximum : typeof s.exclusiveMaximum === "number" ? s.exclusiveMaximum - 1 : lo + 100;
        let v = lo + rng() * Math.max(0, hi - lo);
        if (typeof s.multipleOf === "number" && s.multipleOf > 0) v = Math.ceil(lo / s.multipleOf) * s.multipleOf + Math.floor((hi - lo) / s.multipleOf * rng()) * s.multipleOf;
        else if (type === "integer") v = Math.min(Math.floor(hi), Math.ceil(lo) + Math.floor(rng() * Math.max(1, Math.floor(hi) - Math.ceil(lo) + 1)));
        else v = Math.round(v * 100) / 100;
        return v;
      }
      case "boolean":
        return rng() < 0.5;
      case "null":
        return null;
      default:
        return stringFor(s, name, words, rng);
    }
  };
  return gen(root, "value", 0);
}

function stringFor(s: Schema, name: string, words: readonly string[], rng: () => number): string {
  switch (s.format) {
    case "date-time":
      return "2026-01-15T09:30:00Z";
    case "date":
      return "2026-01-15";
    case "time":
      return "09:30:00";
    case "email":
      return "user@example.com";
    case "uri":
    case "url":
      return "https://example.com/";
    case "uuid":
      return "123e4567-e89b-42d3-a456-426614174000";
  }
  let text = words.length > 0 ? words[Math.floor(rng() * Math.min(words.length, 3))]! : name;
  const min = typeof s.minLength === "number" ? s.minLength : 0;
  const max = typeof s.maxLength === "number" ? s.maxLength : Infinity;
  while (text.length < min) text += ` ${name}`;
  return text.slice(0, Math.max(min, Math.min(max, text.length)));
}

export interface ToolDefinition {
  name: string;
  description: string;
  schema: unknown;
}

export type ToolDecision = { call: false } | { call: true; tool: ToolDefinition };

/**
 * Whether the model calls a tool, and which: never with no tools or choice none; always when the
 * choice forces it (a named tool, required / any); under auto when the conversation's last turn is
 * the user's (after a tool result the model answers in text, so agent loops end). The tool is the
 * named one, else the one whose name and description share the most words with the question
 * (the first on a tie).
 */
export function decideToolCall(tools: readonly ToolDefinition[], choice: { mode: "auto" | "none" | "any"; name?: string | null }, lastTurnIsUser: boolean, question: string): ToolDecision {
  if (tools.length === 0 || choice.mode === "none") return { call: false };
  if (choice.name) {
    const named = tools.find((t) => t.name === choice.name);
    return named ? { call: true, tool: named } : { call: false };
  }
  if (choice.mode === "auto" && !lastTurnIsUser) return { call: false };
  const q = new Set((question.toLowerCase().match(/\p{L}+/gu) ?? []).filter((w) => w.length > 2));
  let best = tools[0]!;
  let bestScore = -1;
  for (const t of tools) {
    const words = `${t.name.replace(/[_-]/g, " ")} ${t.description}`.toLowerCase().match(/\p{L}+/gu) ?? [];
    const score = new Set(words.filter((w) => q.has(w))).size;
    if (score > bestScore) {
      best = t;
      bestScore = score;
    }
  }
  return { call: true, tool: best };
}

/** Width and height of a PNG, GIF or JPEG given as a base64 data URL; null when unknown (https URLs, other formats). */
export function imageSize(url: string): { width: number; height: number } | null {
  const m = /^data:image\/[a-z]+;base64,(.*)$/s.exec(url);
  if (!m) return null;
  const b = Buffer.from(m[1]!.slice(0, 1 << 16), "base64");
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47) return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b.length >= 10 && b.toString("latin1", 0, 3) === "GIF") return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let i = 2;
    while (i + 9 < b.length) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1]!;
      const len = b.readUInt16BE(i + 2);
      // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
      i += 2 + len;
    }
  }
  return null;
}

/** Assumed when the size cannot be read (an https image the emulator does not fetch). */
export const DEFAULT_IMAGE_SIZE = { width: 1024, height: 1024 };

/**
 * OpenAI's published image cost for GPT-4o-class models: 85 tokens at low detail; otherwise the
 * image is fitted in 2048x2048, its short side scaled to 768, and each 512px tile costs 170 on top of 85.
 */
export function openAiImageTokens(size: { width: number; height: number } | null, detail: string | undefined): number {
  if (detail === "low") return 85;
  let { width: w, height: h } = size ?? DEFAULT_IMAGE_SIZE;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const short = Math.min(w, h);
  if (short > 768) {
    w = (w * 768) / short;
    h = (h * 768) / short;
  }
  return 85 + 170 * Math.ceil(w / 512) * Math.ceil(h / 512);
}

/** Anthropic's published estimate: width*height/750 after the long edge is scaled to at most 1568px. */
export function anthropicImageTokens(size: { width: number; height: number } | null): number {
  let { width: w, height: h } = size ?? DEFAULT_IMAGE_SIZE;
  const fit = Math.min(1, 1568 / Math.max(w, h));
  w = Math.round(w * fit);
  h = Math.round(h * fit);
  return Math.max(1, Math.ceil((w * h) / 750));
}

/** Reasoning tokens a reasoning model spends before answering, by effort (deterministic per seed). */
export function reasoningTokens(effort: string | null | undefined, seed: number): number {
  const base = effort === "minimal" ? 0 : effort === "low" ? 96 : effort === "high" ? 1_024 : 320;
  return base === 0 ? 0 : base + Math.floor(mulberry32(seed ^ 0x5bd1e995)() * base);
}
