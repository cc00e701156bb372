import { describe, expect, it } from "vitest";
import { silentLogger } from "@costwise/stream-runtime";
import { memoryBoilerplateStore, type BoilerplateStore } from "../boilerplate-store.ts";
import { boilerplateSchema } from "../policy.ts";
import { normaliseText, removeBoilerplate, segmentKey, stripHtml } from "./boilerplate.ts";
import { chunk } from "./test-support.ts";

const params = (p: Record<string, unknown> = {}) => boilerplateSchema.parse({ name: "boilerplate", min_requests: 10, min_share: 0.5, ...p });
const DISCLAIMER = "This answer is provided for information only and is not financial advice.";
const NAV = "Home | Accounts | Cards | Help";

describe("normalisation", () => {
  it("collapses whitespace, removes invisible characters and rule lines, keeps every word", () => {
    const text = "  Fees\u200B  and\tcharges \r\n-----\n\n\n\nCards cost   30 EUR.\u00A0 ";
    expect(normaliseText(text)).toBe("Fees and charges\n\nCards cost 30 EUR.");
  });

  it("strips markup when asked, turning blocks into lines", () => {
    expect(normaliseText(stripHtml("<div><h1>Fees</h1><script>x()</script><p>Cards cost 30&nbsp;EUR &amp; more.</p></div>"))).toBe("Fees\n\nCards cost 30 EUR & more.");
  });

  it("identifies a segment regardless of case, digits and spacing", () => {
    expect(segmentKey("Page 3 of 10")).toBe(segmentKey("page  41 of 12"));
    expect(segmentKey("Page 3 of 10")).not.toBe(segmentKey("Page 3 of ten"));
  });
});

describe("learnt boilerplate", () => {
  const req = (i: number) => [
    chunk(`c${i}`, `${NAV}\nRequest ${"abcdefghijklmnopqrstuvwxyz"[i % 26]} asks about card number ${i}. Letter ${"zyxwvutsrqponmlkjihgfedcba"[i % 26]} is in this one only.\n${DISCLAIMER}`),
  ];
  const run = (store: BoilerplateStore | null, i: number, p = params()) =>
    removeBoilerplate(p, { store, now: () => 1_000 }, { chunks: req(i), useCase: "support", requestId: `r${i}`, logger: silentLogger });

  it("removes lines and sentences recurring across the use case's requests once enough traffic was seen", async () => {
    const store = memoryBoilerplateStore();
    const early = await run(store, 0);
    expect(early[0]!.text).toContain(DISCLAIMER);
    for (let i = 1; i < 12; i++) await run(store, i);
    const later = await run(store, 12);
    expect(later).toEqual([chunk("c12", "Request m asks about card number 12. Letter n is in this one only.")]);
  });

  it("does not learn from other use cases", async () => {
    const store = memoryBoilerplateStore();
    for (let i = 0; i < 12; i++) await removeBoilerplate(params(), { store, now: () => 1_000 }, { chunks: req(i), useCase: "other", requestId: `o${i}`, logger: silentLogger });
    expect((await run(store, 12))[0]!.text).toContain(DISCLAIMER);
  });

  it("drops a chunk that was nothing but boilerplate, keeping the others' ids", async () => {
    const store = memoryBoilerplateStore();
    for (let i = 0; i < 12; i++) await run(store, i);
    const out = await removeBoilerplate(params(), { store, now: () => 1_000 }, {
      chunks: [chunk("only-nav", `${NAV}\n${DISCLAIMER}`), chunk("body", "Replacement cards arrive within five working days.")],
      useCase: "support", requestId: "x", logger: silentLogger,
    });
    expect(out.map((c) => c.id)).toEqual(["body"]);
  });

  it("only normalises when the store fails, and reports the failure", async () => {
    const errors: unknown[] = [];
    const broken: BoilerplateStore = { observe: async () => { throw new Error("ECONNREFUSED"); } };
    const out = await removeBoilerplate(params(), { store: broken, now: () => 0, onStoreError: (e) => errors.push(e) }, { chunks: [chunk("a", "Fees   apply.\n\n\n\nAlways.")], useCase: "u", requestId: "r", logger: silentLogger });
    expect(out).toEqual([chunk("a", "Fees apply.\n\nAlways.")]);
    expect(errors).toHaveLength(1);
  });

  it("records only the sampled share of requests, deterministically by request id", async () => {
    const recorded: boolean[] = [];
    const spy: BoilerplateStore = { observe: async (_u, _k, record) => (recorded.push(record), { requests: 0, shares: new Map() }) };
    const p = params({ sample_rate: 0.25 });
    for (let i = 0; i < 400; i++) await removeBoilerplate(p, { store: spy, now: () => 0 }, { chunks: req(i), useCase: "u", requestId: `id-${i}`, logger: silentLogger });
    const share = recorded.filter(Boolean).length / recorded.length;
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.35);
    const again: boolean[] = [];
    const spy2: BoilerplateStore = { observe: async (_u, _k, record) => (again.push(record), { requests: 0, shares: new Map() }) };
    for (let i = 0; i < 400; i++) await removeBoilerplate(p, { store: spy2, now: () => 0 }, { chunks: req(i), useCase: "u", requestId: `id-${i}`, logger: silentLogger });
    expect(again).toEqual(recorded);
  });
});
