import { contentKey } from "@costwise/emulator";
import { describe, expect, it } from "vitest";
import { readDataFile, ReplayDataError, type DataRow } from "./data.ts";
import { buildItem, buildWorkload, normaliseScore, REPLAY_TENANT, routerOutcomes } from "./workload.ts";

const jsonl = (...rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const cacheRows = readDataFile("d/cache_b/dev.jsonl", jsonl(
  { id: "b:1", text: "Where is my card?", intent: "card_arrival" },
  { id: "b:2", text: "My card has not come yet", intent: "card_arrival" },
  { id: "b:3", text: "where is my card?", intent: "lost_card" },
  { id: "b:4", text: "What is the capital of Peru?", intent: "oos", is_oos: true },
));
const mt = {
  id: "mt:81:turn2", benchmark: "mt_bench", prompt: "Now as a limerick.", turns: ["Write a poem.", "Now as a limerick."], turn: 2,
  strong_model: "gpt-4", weak_model: "mixtral", score_type: "judge_1_10",
  models: { "gpt-4": { score: 10, response_chars: 500 }, mixtral: { score: 1, response_chars: 300 } },
};
const gsm = { id: "g:1", benchmark: "gsm8k", prompt: "2+2?", turn: 1, strong_model: null, weak_model: null, score_type: "binary_correct",
  models: { "gpt-4o-2024-08-06": { score: 1, response_chars: 40 }, "gpt-4o-mini": { score: 0, response_chars: 30 } } };
const routerRows = readDataFile("d/router_m/dev.jsonl", jsonl(mt, gsm));
const compressRows = readDataFile("d/compress_x/dev.jsonl", jsonl({ id: "x:1", question: "Who came?", answers: ["Rollo"], passages: [{ title: "N", text: "Nobody." }, { title: "N", text: "rollo came." }] }));

describe("replay workload", () => {
  it("normalises recorded scores to 0..1", () => {
    expect(normaliseScore(1, "binary_correct", "x")).toBe(1);
    expect(normaliseScore(10, "judge_1_10", "x")).toBe(1);
    expect(normaliseScore(1, "judge_1_10", "x")).toBe(0);
    expect(normaliseScore(5.5, "judge_1_10", "x")).toBeCloseTo(0.5);
    expect(() => normaliseScore(7, "elo", "f:3")).toThrow(/f:3: score 7 of type elo/);
  });

  it("sends math answers as BATCH with no deadline and every user-facing kind in real time", () => {
    const kinds = [buildItem(cacheRows[0]!, "r-0", 1), buildItem(routerRows[0]!, "r-1", 1), buildItem(routerRows[1]!, "r-2", 1), buildItem(compressRows[0]!, "r-3", 1)];
    expect(kinds.map((i) => [i.useCase, i.request.latency_class, i.request.deadline_ms])).toEqual([
      ["support-chat", "REALTIME", null], ["general-assistant", "REALTIME", null], ["math-answers", "BATCH", null], ["kb-answers", "REALTIME", null],
    ]);
  });

  it("builds a follow-up turn with the earlier turns and keys the ground truth by every user turn", () => {
    const item = buildItem(routerRows[0]!, "run-0", 1_000);
    expect(item.useCase).toBe("general-assistant");
    expect(item.request).toMatchObject({ tenant: REPLAY_TENANT, model: "gpt-4o", temperature: 0, created_at: 1_000 });
    expect(item.request.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(item.truth.turns).toEqual(["Write a poem.", "Now as a limerick."]);
    // Naive = the caller's model (gpt-4o, a strong-class model): the strong outcome, 10 → 1.
    expect(item.naiveGrade).toBe(1);
  });

  it("uses the gpt-4o pair when the data suggests none, and names a row without the model's score", () => {
    const item = buildItem(routerRows[1]!, "run-1", 0);
    expect(item.useCase).toBe("math-answers");
    expect(item.truth).toMatchObject({ kind: "router", strong: { model: "gpt-4o-2024-08-06", score: 1 }, weak: { model: "gpt-4o-mini", score: 0 } });
    const broken = { ...routerRows[1]!, row: { ...(routerRows[1]!.row as object), models: { "gpt-4o-mini": { score: 0, response_chars: 3 } } } } as unknown as DataRow;
    expect(() => buildItem(broken, "x", 0)).toThrow(/row g:1\): no recorded score for model gpt-4o-2024-08-06/);
    expect(routerOutcomes((routerRows[0]!.row as never), "f").weak).toMatchObject({ model: "mixtral", chars: 300, grade: 0 });
  });

  it("sends compression rows with their passages as context; the naive reader sees them all", () => {
    const item = buildItem(compressRows[0]!, "r", 0);
    expect(item.useCase).toBe("kb-answers");
    expect(item.request.model).toBe("claude-sonnet-4-5");
    expect(item.request.context.map((c) => c.id)).toEqual(["p0", "p1"]);
    expect(item.naiveGrade).toBe(1);
  });

  it("samples per file and shuffles all files together, the same way for the same seed", () => {
    const a = buildWorkload([cacheRows, routerRows, compressRows], { perFile: 2, seed: 7, runId: "r", now: 0 });
    const b = buildWorkload([cacheRows, routerRows, compressRows], { perFile: 2, seed: 7, runId: "r", now: 0 });
    expect(a.items.map((i) => i.source.row.id)).toEqual(b.items.map((i) => i.source.row.id));
    const all = a.items.length + a.excluded.length;
    expect(all).toBe(5);
    for (const item of a.items) expect(item.id).toMatch(/^r-\d{5}$/);
    expect(a.items.filter((i) => i.source.kind === "cache").length + a.excluded.length).toBe(2);
    const c = buildWorkload([cacheRows, routerRows, compressRows], { seed: 8, runId: "r", now: 0 });
    expect(c.items.length + c.excluded.length).toBe(7);
  });

  it("leaves out a row whose text another row already carries with a different label, keeps true repeats", () => {
    const { items, excluded } = buildWorkload([cacheRows], { seed: 1, runId: "r", now: 0 });
    const ids = items.map((i) => i.source.row.id);
    // b:1 and b:3 normalise to the same text with different intents: whichever comes second goes.
    expect(excluded).toHaveLength(1);
    expect(["b:1", "b:3"]).toContain(excluded[0]!.source.row.id);
    expect(ids).toContain("b:2");
    expect(contentKey(excluded[0]!.truth.turns)).toBe(contentKey(["Where is my card?"]));
    const dup = readDataFile("d.jsonl", jsonl({ id: "1", text: "Hi", intent: "a" }, { id: "2", text: "hi", intent: "a" }));
    expect(buildWorkload([dup], { seed: 1, runId: "r", now: 0 }).items).toHaveLength(2);
  });

  it("refuses a follow-up turn without its earlier turns", () => {
    const rows = readDataFile("m.jsonl", jsonl({ ...mt, turns: null }));
    expect(() => buildItem(rows[0]!, "x", 0)).toThrow(ReplayDataError);
  });
});
