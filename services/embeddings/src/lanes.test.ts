import { describe, expect, it } from "vitest";
import { batchingEmbedder, type Embedder } from "./embedder.ts";
import { embedderLanes } from "./lanes.ts";

/** An inner model that runs calls only when told to, recording the order they started in. */
function gatedModel() {
  const started: string[][] = [];
  const gates: (() => void)[] = [];
  const inner: Embedder = {
    name: "gated",
    dimensions: 1,
    embed: (texts) => {
      started.push([...texts]);
      return new Promise((resolve) => gates.push(() => resolve(texts.map(() => ({ vector: Float32Array.of(1), costNanoUsd: 0 })))));
    },
  };
  const release = async () => {
    gates.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { inner, started, release, running: () => gates.length };
}

describe("embedder lanes", () => {
  it("starts a waiting foreground call before every waiting background call, one at a time", async () => {
    const m = gatedModel();
    const lanes = embedderLanes(m.inner);
    const learned = Array.from({ length: 5 }, (_, i) => lanes.background.embed([`answer ${i}`]));
    await new Promise((r) => setImmediate(r));
    expect(m.started).toEqual([["answer 0"]]);
    const lookup = lanes.foreground.embed(["query"]);
    expect(lanes.waiting()).toEqual({ foreground: 1, background: 4 });
    await m.release();
    // The lookup goes next, ahead of the four answers that were waiting before it.
    expect(m.started).toEqual([["answer 0"], ["query"]]);
    expect(m.running()).toBe(1);
    await m.release();
    await expect(lookup).resolves.toHaveLength(1);
    for (let i = 0; i < 4; i++) await m.release();
    expect(m.started.slice(2)).toEqual([["answer 1"], ["answer 2"], ["answer 3"], ["answer 4"]]);
    expect(await Promise.all(learned)).toHaveLength(5);
    expect(lanes.waiting()).toEqual({ foreground: 0, background: 0 });
  });

  it("keeps batches of one lane apart from the other's when batching sits in front of each lane", async () => {
    const m = gatedModel();
    const lanes = embedderLanes(m.inner, { inFlight: 2 });
    const fg = batchingEmbedder(lanes.foreground, 4);
    const bg = batchingEmbedder(lanes.background, 4);
    const all = [bg.embedOne("a1"), fg.embedOne("q1"), bg.embedOne("a2"), fg.embedOne("q2")];
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(m.started.map((t) => t.join(",")).sort()).toEqual(["a1,a2", "q1,q2"]);
    await m.release();
    await m.release();
    await expect(Promise.all(all)).resolves.toHaveLength(4);
  });

  it("fails the calls still waiting when closed, instead of leaving them hanging", async () => {
    const m = gatedModel();
    let closedInner = 0;
    const lanes = embedderLanes({ ...m.inner, close: async () => void closedInner++ });
    const running = lanes.background.embed(["running"]);
    const waiting = lanes.foreground.embed(["waiting"]).then(() => "embedded", (err: Error) => err.message);
    await new Promise((r) => setImmediate(r));
    const closing = lanes.close();
    await m.release();
    await expect(running).resolves.toHaveLength(1);
    expect(await waiting).toBe("the embedder is closed");
    await closing;
    expect(closedInner).toBe(1);
    await expect(lanes.foreground.embed(["late"])).rejects.toThrow("the embedder is closed");
  });
});

describe("embedder lanes' wait", () => {
  it("fails a call whose turn has not come within its wait, and gives the turn to the next", async () => {
    const m = gatedModel();
    const lanes = embedderLanes(m.inner, { maxWaitMs: 30 });
    const running = lanes.background.embed(["long answer"]);
    const late = lanes.foreground.embed(["query"]).then(() => "embedded", (err: Error) => err.message);
    expect(await late).toMatch(/^no model run started within 30 ms \(1 calls waiting\)$/);
    expect(lanes.waiting()).toEqual({ foreground: 0, background: 0 });
    const next = lanes.foreground.embed(["next query"]);
    await m.release();
    await expect(running).resolves.toHaveLength(1);
    // The abandoned call never reaches the model.
    expect(m.started).toEqual([["long answer"], ["next query"]]);
    await m.release();
    await expect(next).resolves.toHaveLength(1);
  });
});
