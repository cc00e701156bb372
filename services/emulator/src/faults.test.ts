import { describe, expect, it } from "vitest";
import { FaultInjector } from "./faults.ts";

describe("FaultInjector", () => {
  it("faults exactly the next `count` matching requests, then stops", () => {
    const faults = new FaultInjector(1);
    faults.add({ kind: "429", count: 2, paths: ["chat"] });
    expect(faults.pick("embeddings")).toBeUndefined();
    expect(faults.pick("chat")?.kind).toBe("429");
    expect(faults.pick("chat")?.kind).toBe("429");
    expect(faults.pick("chat")).toBeUndefined();
    expect(faults.list()).toHaveLength(0);
  });

  it("defaults to a single fault when neither count nor rate is given", () => {
    const faults = new FaultInjector(1);
    faults.add({ kind: "500" });
    expect(faults.pick("messages")?.kind).toBe("500");
    expect(faults.pick("messages")).toBeUndefined();
  });

  it("faults about `rate` of requests, reproducibly for a seed", () => {
    const run = () => {
      const faults = new FaultInjector(7);
      faults.add({ kind: "503", rate: 0.3 });
      return Array.from({ length: 1000 }, () => (faults.pick("chat") ? 1 : 0));
    };
    const hits = run();
    const total = hits.reduce<number>((s, x) => s + x, 0);
    expect(total).toBeGreaterThan(240);
    expect(total).toBeLessThan(360);
    expect(run()).toEqual(hits);
  });

  it("applies rules in order and clears them", () => {
    const faults = new FaultInjector(1);
    faults.add({ kind: "timeout", count: 1, timeoutMs: 5 });
    faults.add({ kind: "malformed", rate: 1 });
    expect(faults.pick("chat")).toMatchObject({ kind: "timeout", timeoutMs: 5 });
    expect(faults.pick("chat")?.kind).toBe("malformed");
    faults.clear();
    expect(faults.pick("chat")).toBeUndefined();
  });
});
