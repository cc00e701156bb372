import { describe, expect, it } from "vitest";
import { catalog, costOf, requireModel, type Usage } from "@costwise/pricing";
import { silentLogger } from "@costwise/stream-runtime";
import { summariseSchema } from "../policy.ts";
import { summariseChunks, SUMMARY_INSTRUCTIONS, type SummariserChat } from "./summarise.ts";
import { chunk, meter } from "./test-support.ts";

type ChatReq = Parameters<SummariserChat["chat"]>[0];
const usage: Usage = { inputTokens: 400, cachedInputTokens: 0, cacheWriteInputTokens: 0, outputTokens: 60 };
const params = (p: Record<string, unknown> = {}) => summariseSchema.parse({ name: "summarise", min_chunk_tokens: 50, ...p });
const LONG = "The annual fee of the Gold card is 90 euros. ".repeat(12).trim();

function chat(reply: (r: ChatReq) => string | Error = () => "Gold card: 90 euros a year.") {
  const calls: ChatReq[] = [];
  const port: SummariserChat = {
    chat: async (r) => {
      calls.push(r);
      const out = reply(r);
      if (out instanceof Error) throw out;
      return { content: out, model: r.model, usage };
    },
  };
  return { port, calls };
}

const input = (chunks = [chunk("long", LONG, 0.8), chunk("short", "Cards are free.", 0.5)], signal?: AbortSignal) =>
  ({ chunks, question: "What does the Gold card cost?", tokens: meter(), requestId: "r1", logger: silentLogger, ...(signal ? { signal } : {}) });

describe("summarise", () => {
  it("rewrites long chunks with the cheap model, focused on the question, and prices every call from the catalog", async () => {
    const c = chat();
    const out = await summariseChunks(params(), { chat: c.port, catalog }, input());
    expect(out.chunks).toEqual([chunk("long", "Gold card: 90 euros a year.", 0.8), chunk("short", "Cards are free.", 0.5)]);
    expect(c.calls).toHaveLength(1);
    expect(c.calls[0]).toMatchObject({ model: "gpt-4o-mini", temperature: 0, requestId: "r1" });
    expect(c.calls[0]!.messages[0]).toEqual({ role: "system", content: SUMMARY_INSTRUCTIONS });
    expect(c.calls[0]!.messages[1]!.content).toBe(`Question: What does the Gold card cost?\n\nDocument:\n${LONG}`);
    expect(c.calls[0]!.maxTokens).toBeLessThanOrEqual(200);
    expect(out.overheadNanoUsd).toBe(costOf(requireModel(catalog, "gpt-4o-mini"), usage).totalNanoUsd);
    expect(Number.isInteger(out.overheadNanoUsd)).toBe(true);
  });

  it("keeps the original when the summary is not shorter, but still records what the call cost", async () => {
    const c = chat((r) => `${r.messages[1]!.content} and more`);
    const out = await summariseChunks(params(), { chat: c.port, catalog }, input());
    expect(out.chunks[0]!.text).toBe(LONG);
    expect(out.overheadNanoUsd).toBeGreaterThan(0);
  });

  it("keeps the chunk as it was when the call fails, and reports the failure", async () => {
    const errors: unknown[] = [];
    const out = await summariseChunks(params(), { chat: chat(() => new Error("503 after 4 attempts")).port, catalog, onCallError: (e) => errors.push(e) }, input());
    expect(out.chunks[0]!.text).toBe(LONG);
    expect(out.overheadNanoUsd).toBe(0);
    expect(errors).toHaveLength(1);
  });

  it("stops on shutdown instead of falling back", async () => {
    const ac = new AbortController();
    ac.abort(new Error("shutdown"));
    await expect(summariseChunks(params(), { chat: chat(() => new Error("aborted")).port, catalog }, input(undefined, ac.signal))).rejects.toThrow("aborted");
  });

  it("leaves chunks under min_chunk_tokens alone and makes no call", async () => {
    const c = chat();
    const out = await summariseChunks(params({ min_chunk_tokens: 10_000 }), { chat: c.port, catalog }, input());
    expect(c.calls).toHaveLength(0);
    expect(out.chunks.map((x) => x.text)).toEqual([LONG, "Cards are free."]);
  });
});
