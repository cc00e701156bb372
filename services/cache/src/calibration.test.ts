import { describe, expect, it } from "vitest";
import { CalibrationBook, calibrationFields, CALIBRATION_MAX_TRAFFIC, parseCalibrationHash } from "./calibration.ts";
import { binOf, emptyCalibration } from "./decision.ts";
import { MemoryCacheStore } from "./memory-store.ts";
import type { CalibrationRef, CacheStore } from "./store.ts";

const ref: CalibrationRef = { tenant: "acme", useCase: "support-chat", embedder: "local:m", neighbourhood: "single" };

function books(store: Pick<CacheStore, "readCalibration" | "addCalibration">) {
  let now = 0;
  const opts = { store, now: () => now, refreshMs: 1_000 };
  return { a: new CalibrationBook(opts), b: new CalibrationBook(opts), advance: (ms: number) => (now += ms) };
}

describe("shared calibration", () => {
  it("encodes only non-zero counts and reads them back, ignoring fields it does not know", () => {
    const c = emptyCalibration();
    c.traffic[90] = 3;
    c.labelled[90] = 2;
    c.wrong[90] = 1;
    const fields = calibrationFields(c);
    expect(fields).toEqual([["t90", 3], ["l90", 2], ["w90", 1]]);
    const back = parseCalibrationHash({ ...Object.fromEntries(fields.map(([f, n]) => [f, String(n)])), n: "3", x7: "9", t99999: "4", "seed:1": '{"pairs":2,"from":"f","sha256":"ab","at":1,"embeddingNanoUsd":0}' });
    expect(back.state).toEqual(c);
    expect(back.seeds).toEqual([{ pairs: 2, from: "f", sha256: "ab", at: 1, embeddingNanoUsd: 0 }]);
  });

  it("shows one replica's verified outcomes and traffic to another, which starts serving on that evidence", async () => {
    const store = new MemoryCacheStore();
    const { a, b, advance } = books(store);
    expect((await b.current(ref)).threshold(0.01, 0.9)).toBeGreaterThan(1);
    for (let i = 0; i < 300; i++) {
      a.traffic(ref, binOf(0.952));
      await a.outcome(ref, binOf(0.952), true);
    }
    // a's outcomes are in the store at once; its traffic counts go with its next refresh.
    expect((await store.readCalibration(ref)).state.labelled[binOf(0.952)]).toBe(300);
    expect((await store.readCalibration(ref)).state.traffic[binOf(0.952)]).toBe(0);
    advance(1_000);
    await a.current(ref); // stale: refreshes in the background
    await a.flush();
    expect((await store.readCalibration(ref)).state.traffic[binOf(0.952)]).toBe(300);
    // b's snapshot is stale too: its next lookup refreshes it, the one after sees the evidence.
    await b.current(ref);
    await b.flush();
    expect((await b.current(ref)).threshold(0.01, 0.9)).toBeCloseTo(0.95, 5);
  });

  it("keeps its traffic counts when the store is down and writes them with a later refresh", async () => {
    const inner = new MemoryCacheStore();
    let down = true;
    const store: Pick<CacheStore, "readCalibration" | "addCalibration"> = {
      readCalibration: (r) => (down ? Promise.reject(new Error("down")) : inner.readCalibration(r)),
      addCalibration: (r, d, s) => (down ? Promise.reject(new Error("down")) : inner.addCalibration(r, d, s)),
    };
    const errors: string[] = [];
    const book = new CalibrationBook({ store, now: () => 0, refreshMs: 0, onError: (_e, what) => errors.push(what) });
    // An unreadable calibration is an empty one: nothing is served on it.
    expect((await book.current(ref)).threshold(0.01, 0.9)).toBeGreaterThan(1);
    book.traffic(ref, binOf(0.9));
    book.traffic(ref, binOf(0.9));
    await book.flush();
    expect(errors).toContain("write");
    down = false;
    await book.flush();
    expect((await inner.readCalibration(ref)).state.traffic[binOf(0.9)]).toBe(2);
  });

  it("stays bounded: past the traffic bound every count is halved, keeping the rates", async () => {
    const store = new MemoryCacheStore();
    const d = emptyCalibration();
    d.traffic[80] = CALIBRATION_MAX_TRAFFIC;
    d.labelled[80] = 1000;
    d.wrong[80] = 10;
    await store.addCalibration(ref, d);
    const one = emptyCalibration();
    one.traffic[80] = 2;
    await store.addCalibration(ref, one);
    const s = (await store.readCalibration(ref)).state;
    expect(s.traffic[80]).toBe((CALIBRATION_MAX_TRAFFIC + 2) / 2);
    expect([s.labelled[80], s.wrong[80]]).toEqual([500, 5]);
  });
});
