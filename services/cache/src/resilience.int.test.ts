import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CacheHarness, waitUntil } from "./testing/int-harness.ts";
import { TcpProxy } from "./testing/tcp-proxy.ts";

describe("cache service under failure, on the real stack", () => {
  let h: CacheHarness;
  let proxy: TcpProxy;

  beforeAll(async () => {
    h = await CacheHarness.create("cache-resilience");
    const redis = new URL(h.env.REDIS_URL!);
    proxy = await TcpProxy.start(redis.hostname, Number(redis.port));
  });

  afterEach(async () => {
    await h.stopService();
  });

  afterAll(async () => {
    await h?.close();
    await proxy?.close();
  });

  it("passes requests on as misses within the Redis timeout while Redis hangs, and serves hits again once it is back", async () => {
    await h.startService({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    const first = h.request("Can I change the currency of my account?");
    await h.teach(first);
    expect((await h.ask(h.request("Can I change the currency of my account?"))).kind).toBe("hit");

    proxy.hang();
    const during = [h.request("Can I change the currency of my account?"), h.request("Can I change my account's currency?"), h.request("How do I freeze my card?")];
    for (const r of during) h.unanswered.add(r.request_id);
    const outcomes = await Promise.all(during.map((r) => h.ask(r)));
    for (const out of outcomes) {
      expect(out).toMatchObject({ kind: "uncached", request: { pipeline: { cache_lookup: "DEGRADED" } } });
      if (out.kind === "uncached") expect(out.request.pipeline!.stage_ms.cache).toBeLessThan(250);
    }

    proxy.resume();
    await waitUntil(async () => (await h.ask(h.request("Can I change the currency of my account?"))).kind === "hit", 30_000, "hits after redis came back");
  });

  it("keeps its cache across a restart: exact and semantic hits come from Redis and the rebuilt index", async () => {
    await h.startService();
    const exact = h.request("What is the fee for an international wire transfer?", { tenant: "restart" });
    const semantic = h.request("How do I report my card as stolen?", { tenant: "restart" });
    await h.teach(exact);
    await h.teach(semantic);
    await h.stopService();

    await h.startService();
    expect(await h.ask(h.request("What is the fee for an international wire transfer?", { tenant: "restart" }))).toMatchObject({
      kind: "hit", response: { served_by: "CACHE_EXACT", cache_source_request_id: exact.request_id },
    });
    // The new process rebuilt its vector index from Redis before consuming.
    const paraphrase = h.request("How can I report that my card was stolen?", { tenant: "restart" });
    h.unanswered.add(paraphrase.request_id);
    const out = await h.ask(paraphrase);
    expect(out).toMatchObject({ kind: "hit", response: { served_by: "CACHE_SEMANTIC", cache_source_request_id: semantic.request_id } });
  });

  it("runs exact-only when the embedding model cannot load", async () => {
    await h.startService({ CACHE_EMBEDDING_MODEL_DIR: "/nonexistent/model" });
    const first = h.request("Where can I see my IBAN?", { tenant: "no-model" });
    await h.teach(first);
    expect((await h.ask(h.request("Where can I see my IBAN?", { tenant: "no-model" }))).kind).toBe("hit");
    const paraphrase = h.request("Where do I find my IBAN?", { tenant: "no-model" });
    h.unanswered.add(paraphrase.request_id);
    expect((await h.ask(paraphrase)).kind).toBe("uncached");
  });
});
