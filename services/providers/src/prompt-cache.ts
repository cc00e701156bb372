import { createHash } from "node:crypto";
import type Anthropic from "@anthropic-ai/sdk";
import { parseUsdPerMTok, type ModelPrice } from "@costwise/pricing";
import { LRUCache } from "lru-cache";
import { countTextTokens } from "./tokens.ts";

type MessageParams = Anthropic.Messages.MessageCreateParamsNonStreaming;

/** `auto`: mark prefixes whose expected reuse pays for the write; `always`: every cacheable prefix; `off`: none. */
export type PromptCacheMode = "auto" | "off" | "always";

/** Anthropic accepts at most this many `cache_control` blocks per request. */
export const MAX_CACHE_BREAKPOINTS = 4;
/** The default (5-minute) cache lifetime, which is also the window reuse is estimated over. */
export const PROMPT_CACHE_TTL_MS = 5 * 60_000;

/**
 * Shortest prefix Anthropic caches (shorter ones are silently not cached, the write premium is not
 * charged either). Per Anthropic's prompt-caching docs: 4096 for Opus 4.5 and Haiku 4.5, 2048 for
 * Haiku 3 / 3.5, 1024 for the other Sonnet and Opus models.
 */
export function minCacheableTokens(modelId: string): number {
  if (/^claude-(haiku|opus)-4-5/.test(modelId)) return 4_096;
  if (/^claude-3(-5)?-haiku/.test(modelId)) return 2_048;
  return 1_024;
}

/**
 * Reads needed within the lifetime for one write to pay: the write premium over plain input
 * divided by what a read saves (5-minute Anthropic prices: 0.25 / 0.9 ≈ 0.28). Infinity when the
 * model's prices give reads no discount.
 */
export function breakEvenReads(price: ModelPrice): number {
  const input = parseUsdPerMTok(price.inputPerMTok);
  const write = price.cacheWritePerMTok === null ? input : parseUsdPerMTok(price.cacheWritePerMTok);
  const read = price.cachedInputPerMTok === null ? input : parseUsdPerMTok(price.cachedInputPerMTok);
  if (read >= input) return Number.POSITIVE_INFINITY;
  return Number(write - input) / Number(input - read);
}

/**
 * How often each prompt prefix was sent lately, per model (in-process, bounded LRU). A prefix
 * seen within the cache lifetime is expected to be seen again: the best cheap estimate of reuse.
 */
export class PrefixSightings {
  private readonly seen: LRUCache<string, number[]>;

  constructor(
    private readonly windowMs: number = PROMPT_CACHE_TTL_MS,
    maxEntries = 10_000,
  ) {
    this.seen = new LRUCache({ max: maxEntries });
  }

  /** Sightings of `key` within the window before `now`; records this one. */
  record(key: string, now: number): number {
    const recent = (this.seen.get(key) ?? []).filter((t) => now - t < this.windowMs);
    const before = recent.length;
    recent.push(now);
    // Only the count within the window matters; keep the list short for very hot prefixes.
    this.seen.set(key, recent.slice(-32));
    return before;
  }
}

export type PrefixKind = "tools" | "system" | "history";

export interface PlannedBreakpoint {
  kind: PrefixKind;
  /** Estimated tokens of the prompt up to and including the marked block. */
  prefixTokens: number;
  /** Sightings of this prefix within the window before this request. */
  seenBefore: number;
}

export interface PromptCachePlan {
  params: MessageParams;
  breakpoints: PlannedBreakpoint[];
}

export interface PromptCacheOptions {
  mode: PromptCacheMode;
  sightings: PrefixSightings;
  now: number;
}

const EPHEMERAL = { type: "ephemeral" } as const;

function textOfContent(content: Anthropic.Messages.MessageParam["content"]): string {
  return typeof content === "string" ? content : JSON.stringify(content);
}

/** The message with a cache marker on its last block (a string content becomes one text block). */
function markLastBlock(m: Anthropic.Messages.MessageParam): Anthropic.Messages.MessageParam {
  if (typeof m.content === "string") return { ...m, content: [{ type: "text", text: m.content, cache_control: EPHEMERAL }] };
  const blocks = [...m.content];
  const last = blocks.at(-1);
  // Thinking blocks cannot carry a marker; such a turn is simply not a breakpoint.
  if (!last || last.type === "thinking" || last.type === "redacted_thinking") return m;
  blocks[blocks.length - 1] = { ...last, cache_control: EPHEMERAL } as Anthropic.Messages.ContentBlockParam;
  return { ...m, content: blocks };
}

/**
 * Places `cache_control` breakpoints on the stable prefixes of an Anthropic request, in the API's
 * cache order: the end of the tool definitions, the end of the system prompt, and the end of the
 * conversation before its last turn (long fixed leading context, earlier turns). A prefix is marked
 * when it is long enough to be cached and, in `auto`, when it was sent at least `breakEvenReads`
 * times within the lifetime already (the first sighting only records it). Markers do not change
 * what the model sees; the params are copied, never edited in place.
 */
export function planPromptCache(params: MessageParams, price: ModelPrice, opts: PromptCacheOptions): PromptCachePlan {
  if (opts.mode === "off") return { params, breakpoints: [] };
  const min = minCacheableTokens(price.id);
  const needed = breakEvenReads(price);
  if (!Number.isFinite(needed) && opts.mode === "auto") return { params, breakpoints: [] };
  const hash = createHash("sha256").update(price.id).update("\u0000");
  let tokens = 0;
  const breakpoints: PlannedBreakpoint[] = [];
  const out: MessageParams = { ...params };

  const consider = (kind: PrefixKind, text: string): boolean => {
    hash.update(`${kind}\u0000${text}\u0000`);
    tokens += countTextTokens(text, price.id);
    const seenBefore = opts.sightings.record(hash.copy().digest("base64"), opts.now);
    if (tokens < min || breakpoints.length >= MAX_CACHE_BREAKPOINTS) return false;
    if (opts.mode === "auto" && seenBefore < Math.max(1, Math.ceil(needed))) return false;
    breakpoints.push({ kind, prefixTokens: tokens, seenBefore });
    return true;
  };

  const tools = params.tools ?? [];
  if (tools.length > 0 && consider("tools", JSON.stringify(tools))) {
    out.tools = tools.map((t, i) => (i === tools.length - 1 ? { ...t, cache_control: EPHEMERAL } : t));
  }
  const system = params.system;
  if (system !== undefined) {
    const text = typeof system === "string" ? system : JSON.stringify(system);
    if (consider("system", text)) {
      out.system = typeof system === "string"
        ? [{ type: "text", text: system, cache_control: EPHEMERAL }]
        : system.map((b, i) => (i === system.length - 1 ? { ...b, cache_control: EPHEMERAL } : b));
    }
  }
  const history = params.messages.slice(0, -1);
  if (history.length > 0 && consider("history", history.map((m) => `${m.role}:${textOfContent(m.content)}`).join("\u0000"))) {
    const messages = [...params.messages];
    const marked = markLastBlock(messages[history.length - 1]!);
    if (marked === messages[history.length - 1]) breakpoints.pop();
    messages[history.length - 1] = marked;
    out.messages = messages;
  }
  return { params: breakpoints.length > 0 ? out : params, breakpoints };
}
