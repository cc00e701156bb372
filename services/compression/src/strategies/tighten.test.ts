import { describe, expect, it } from "vitest";
import { tightenSchema } from "../policy.ts";
import { tightenChunks } from "./tighten.ts";
import { chunk, meter } from "./test-support.ts";

const params = (p: Record<string, unknown>) => tightenSchema.parse({ name: "tighten", ...p });
const noFloor = { targetTokens: 10_000, floorTokens: 0 };
const run = (p: Record<string, unknown>, chunks: ReturnType<typeof chunk>[], question = "", budget = noFloor) =>
  tightenChunks(params(p), { chunks, question, budget, tokens: meter() });

const docs = [
  chunk("a", "The annual card fee is 30 euros and is charged every January.", 0.9),
  chunk("b", "Our offices are closed on public holidays in Germany.", 0.2),
  chunk("c", "Cards can be frozen in the app under Settings and Security.", 0.6),
  chunk("d", "The annual card fee is 30 euros and is charged every January!", 0.5),
];

describe("tighten", () => {
  it("drops chunks below the relevance floor and keeps the rest whole, in their original order", () => {
    const distinct = [docs[0]!, docs[1]!, docs[2]!, chunk("e", "Replacement cards arrive within five working days.", 0.5)];
    const out = run({ min_score: 0.5 }, distinct);
    expect(out).toEqual([distinct[0], distinct[2], distinct[3]]);
  });

  it("removes near-duplicates of a better-ranked chunk", () => {
    const out = run({}, docs);
    expect(out.map((c) => c.id)).toEqual(["a", "b", "c"]);
  });

  it("keeps the top-k by relevance to the question when ranking by query", () => {
    const out = run({ rank_by: "query", top_k: 1 }, docs, "How do I freeze my card in the app?");
    expect(out.map((c) => c.id)).toEqual(["c"]);
  });

  it("prefers a diverse chunk over a near-copy with MMR", () => {
    const near = [
      chunk("x1", "Freeze the card in the app: open Settings, then Security, then Freeze card.", 0.95),
      chunk("x2", "To freeze the card in the app, open Settings, then Security, and tap Freeze card.", 0.94),
      chunk("y", "A frozen card can be unfrozen at any time; pending payments still go through.", 0.7),
    ];
    expect(run({ top_k: 2, dedupe_threshold: 1 }, near).map((c) => c.id)).toEqual(["x1", "x2"]);
    expect(run({ top_k: 2, dedupe_threshold: 1, mmr_lambda: 0.5 }, near).map((c) => c.id)).toEqual(["x1", "y"]);
  });

  it("brings back the best dropped chunks when the result would be under the token floor", () => {
    const tokens = meter();
    const floor = tokens.context([docs[0]!, docs[2]!]);
    const out = run({ top_k: 1, dedupe_threshold: 1 }, docs, "", { targetTokens: 10_000, floorTokens: floor });
    expect(out.map((c) => c.id)).toEqual(["a", "c"]);
    expect(tokens.context(out)).toBeGreaterThanOrEqual(floor);
  });

  it("returns nothing for an empty context", () => {
    expect(run({ top_k: 2 }, [])).toEqual([]);
  });
});
