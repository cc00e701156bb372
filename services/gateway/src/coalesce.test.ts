import { describe, expect, it } from "vitest";
import { coalesce } from "./coalesce.ts";

describe("coalesced sends", () => {
  it("sends the first item at once and gathers those arriving meanwhile into the next send", async () => {
    const sends: number[][] = [];
    let release!: () => void;
    const send = coalesce<number>(async (items) => {
      sends.push([...items]);
      if (sends.length === 1) await new Promise<void>((r) => (release = r));
    });
    const first = send(1);
    const rest = [send(2), send(3), send(4)];
    await new Promise((r) => setTimeout(r, 5));
    expect(sends).toEqual([[1]]);
    release();
    await Promise.all([first, ...rest]);
    expect(sends).toEqual([[1], [2, 3, 4]]);
  });

  it("fails exactly the callers whose send failed, and keeps going", async () => {
    let n = 0;
    const send = coalesce<string>(async (items) => {
      if (n++ === 0) throw new Error(`broker down for ${items.join(",")}`);
    });
    await expect(send("a")).rejects.toThrow("broker down for a");
    await expect(send("b")).resolves.toBeUndefined();
  });

  it("caps a send at maxBatch items", async () => {
    const sizes: number[] = [];
    const send = coalesce<number>(async (items) => void sizes.push(items.length), 2);
    await Promise.all([1, 2, 3, 4, 5].map((i) => send(i)));
    expect(sizes).toEqual([1, 2, 2]);
  });
});
