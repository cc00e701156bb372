import { describe, expect, it } from "vitest";
import { silentLogger } from "@costwise/stream-runtime";
import { ScopedAnnIndex } from "./ann.ts";
import { createCacheEngine } from "./engine.ts";
import { MemoryCacheStore } from "./memory-store.ts";
import { parsePolicies } from "./policy.ts";
import { IndexSync } from "./sync.ts";
import { answer, bagOfWordsEmbedder, request } from "./testing/fakes.ts";

const policies = parsePolicies({ version: 1, use_cases: { "support-chat": { mode: "semantic", threshold: 0.8, ttl_seconds: 60 } } });

/** Two replicas sharing one store: each has its own index, kept by its own IndexSync. */
function replicas() {
  let now = 1_000;
  const store = new MemoryCacheStore(() => now);
  const embedder = bagOfWordsEmbedder();
  const make = () => {
    const index = new ScopedAnnIndex({ dimensions: embedder.dimensions });
    const engine = createCacheEngine({ store, index, embedder, policies, now: () => now });
    const sync = new IndexSync({ store, index, embedder: embedder.name, logger: silentLogger, now: () => now });
    return { index, engine, sync };
  };
  const teach = async (r: ReturnType<typeof make>, req: ReturnType<typeof request>) => {
    await store.putPending(r.engine.pendingFor(req, await r.engine.lookup(req))!, 60_000);
    return r.engine.learn(answer(req));
  };
  return { store, make, teach, advance: (ms: number) => (now += ms) };
}

describe("index sync", () => {
  it("brings what one replica learned to another through the change feed", async () => {
    const { make, teach } = replicas();
    const a = make();
    const b = make();
    await b.sync.rebuild();
    await teach(a, request({ request_id: "first" }));
    const paraphrase = request({ request_id: "p", text: "where is my new card please" });
    expect((await b.engine.lookup(paraphrase)).status).toBe("MISS");
    expect(await b.sync.catchUp()).toBe(1);
    expect((await b.engine.lookup(paraphrase)).status).toBe("HIT_SEMANTIC");
  });

  it("rebuilds a restarted replica's index from the store, leaving out expired entries", async () => {
    const { make, teach, advance } = replicas();
    const a = make();
    await teach(a, request({ request_id: "old", text: "how do I close my account" }));
    advance(30_000);
    await teach(a, request({ request_id: "new", text: "where is my new card" }));
    advance(40_000); // "old" has expired (TTL 60 s), "new" has not
    const restarted = make();
    expect(await restarted.sync.rebuild()).toBe(1);
    expect((await restarted.engine.lookup(request({ request_id: "q", text: "where is my new card please" }))).entry!.source_request_id).toBe("new");
  });

  it("applies invalidations to every replica's index", async () => {
    const { make, teach, store } = replicas();
    const a = make();
    const b = make();
    await b.sync.rebuild();
    await teach(a, request({ request_id: "first" }));
    await b.sync.catchUp();
    expect(b.index.size).toBe(1);
    expect(await store.invalidate({ tenant: "acme", useCase: "support-chat" }, 2_000)).toBe(1);
    await b.sync.catchUp();
    expect(b.index.size).toBe(0);
    expect((await b.engine.lookup(request({ request_id: "q" }))).status).toBe("MISS");
  });
});
