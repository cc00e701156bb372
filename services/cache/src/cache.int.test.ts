import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerTo, CacheHarness } from "./testing/int-harness.ts";

const cli = fileURLToPath(new URL("../tools/cli/main.ts", import.meta.url));

describe("cache service on the real stack", () => {
  let h: CacheHarness;

  beforeAll(async () => {
    h = await CacheHarness.create("cache");
    await h.startService();
  });

  afterAll(async () => {
    await h?.close();
  });

  it("answers a repeated request from the cache with the first request's answer and a cost record of the avoided call", async () => {
    const first = h.request("What are your opening hours on public holidays?");
    await h.teach(first);
    expect(h.uncached.get(first.request_id)!.pipeline).toMatchObject({ cache_lookup: "MISS" });
    const again = h.request("What are your opening hours on public holidays?");
    const out = await h.ask(again);
    expect(out.kind).toBe("hit");
    if (out.kind !== "hit") return;
    expect(out.response).toMatchObject({
      served_by: "CACHE_EXACT", status: "OK", cache_source_request_id: first.request_id, content: h.responses.get(first.request_id)![0]!.content,
      model: "gpt-4o-mini", cost_usd: 0, output_tokens: 25,
    });
    await expect.poll(() => h.costRecords.get(again.request_id), { timeout: 10_000 }).toMatchObject({
      served_by: "CACHE_EXACT", cost_nanousd: 0, model_used: null, model_requested: "gpt-4o-mini", cache_source_request_id: first.request_id,
    });
    const rec = h.costRecords.get(again.request_id)!;
    expect(rec.saving_cache_nanousd).toBe(rec.baseline_cost_nanousd);
    expect(rec.baseline_cost_nanousd).toBeGreaterThan(0);
  });

  it("invalidates an entry once users reported failed answers from it the policy's number of times (llm.outcomes)", async () => {
    const q = "Which documents do I need to open a business account?";
    const first = h.request(q, { use_case: "feedback" });
    await h.teach(first);
    const failed = async (id: string) => h.reportOutcome({ request_id: id, tenant: "acme", use_case: "feedback", success: false, score: null, source: "user", created_at: Date.now(), comment: "wrong documents" });
    const hit1 = await h.ask(h.request(q, { use_case: "feedback" }));
    const hit2 = await h.ask(h.request(q, { use_case: "feedback" }));
    expect([hit1.kind, hit2.kind]).toEqual(["hit", "hit"]);
    const id1 = hit1.kind === "hit" ? hit1.response.request_id : "";
    const id2 = hit2.kind === "hit" ? hit2.response.request_id : "";
    // Two failed outcomes for one request count once: the entry still answers after them.
    await failed(id1);
    await failed(id1);
    await expect.poll(async () => (await h.redis.keys(`${h.env.CACHE_KEY_PREFIX}:fail:*`)).length, { timeout: 20_000, interval: 200 }).toBe(1);
    expect((await h.ask(h.request(q, { use_case: "feedback" }))).kind).toBe("hit");
    await failed(id2);
    await expect.poll(async () => (await h.ask(h.request(q, { use_case: "feedback" }))).kind, { timeout: 20_000, interval: 500 }).toBe("uncached");
  });

  it("answers a paraphrase semantically with the real embedding model", async () => {
    const first = h.request("How can I reset the PIN of my debit card?");
    await h.teach(first);
    const out = await h.ask(h.request("How do I reset my debit card PIN?"));
    expect(out).toMatchObject({ kind: "hit", response: { served_by: "CACHE_SEMANTIC", cache_source_request_id: first.request_id } });
  });

  it("under an error bound with no evidence yet, sends a paraphrase to the model and judges its answer off the request path", async () => {
    const first = h.request("How can I change the address on my account?", { use_case: "bounded" });
    await h.teach(first);
    const para = h.request("How do I update the address on my account?", { use_case: "bounded" });
    const out = await h.ask(para);
    expect(out.kind).toBe("uncached");
    if (out.kind !== "uncached") return;
    expect(out.request.pipeline).toMatchObject({ cache_lookup: "MISS", embedding: { model: "local:all-MiniLM-L6-v2" } });
    // The local answer-embedding judge costs nothing, so nothing is charged for the verification.
    expect(out.request.pipeline!.overhead.cache_verify ?? 0).toBe(0);
    expect(out.request.pipeline!.embedding!.vector.byteLength).toBe(384 * 4);
    // The stand-in executor answers it; learning emits a verification, which the service consumes and records on both entries.
    const outcomes = async () => {
      const keys: string[] = [];
      let cursor = "0";
      do {
        const [next, found] = await h.redis.scan(cursor, "MATCH", `${h.env.CACHE_KEY_PREFIX}:e:*:o`, "COUNT", 1000);
        cursor = next;
        keys.push(...found);
      } while (cursor !== "0");
      return Promise.all(keys.map((k) => h.redis.get(k)));
    };
    await expect.poll(outcomes, { timeout: 20_000, interval: 250 }).toHaveLength(2);
    for (const o of await outcomes()) expect(o).toMatch(/^0\.\d{4}:[01];$/);
  });

  it("refuses a semantic hit whose order number differs, and serves the one whose number agrees", async () => {
    const o123 = h.request("Please refund order 123, it arrived broken.");
    await h.teach(o123);
    const other = await h.ask(h.request("Please refund order 456, it arrived broken."));
    expect(other.kind).toBe("uncached");
    const same = await h.ask(h.request("Please refund my order 123, it arrived broken."));
    expect(same).toMatchObject({ kind: "hit", response: { served_by: "CACHE_SEMANTIC", cache_source_request_id: o123.request_id } });
  });

  it("never serves one tenant's answer to another, for the same text or a paraphrase", async () => {
    const acme = h.request("Can I open a joint account with my partner?", { tenant: "acme" });
    await h.teach(acme);
    const same = h.request("Can I open a joint account with my partner?", { tenant: "globex" });
    h.unanswered.add(same.request_id); // globex must not learn an answer of its own meanwhile
    expect(await h.ask(same)).toMatchObject({ kind: "uncached", request: { pipeline: { cache_lookup: "MISS" } } });
    expect((await h.ask(h.request("Can I open a joint account with my partner please?", { tenant: "globex" }))).kind).toBe("uncached");
    // Each tenant is then served its own answer.
    expect(await h.ask(h.request("Can I open a joint account with my partner?", { tenant: "acme" }))).toMatchObject({ kind: "hit", response: { cache_source_request_id: acme.request_id } });
  });

  it("passes requests flagged tags.cache = off, and sampled requests where the use case does not allow them, without a lookup", async () => {
    await h.teach(h.request("Do you charge for paper statements?"));
    expect(await h.ask(h.request("Do you charge for paper statements?", { tags: { cache: "off" } }))).toMatchObject({ kind: "uncached", request: { pipeline: { cache_lookup: "BYPASS" } } });
    expect(await h.ask(h.request("Do you charge for paper statements?", { use_case: "strict", temperature: 0.8 }))).toMatchObject({ kind: "uncached", request: { pipeline: { cache_lookup: "BYPASS" } } });
  });

  it("expires entries after their use case's TTL", async () => {
    await h.teach(h.request("Is my card contactless?", { use_case: "short" }));
    expect((await h.ask(h.request("Is my card contactless?", { use_case: "short" }))).kind).toBe("hit");
    await new Promise((r) => setTimeout(r, 2_200));
    expect((await h.ask(h.request("Is my card contactless?", { use_case: "short" }))).kind).toBe("uncached");
  });

  it("stores a replayed response once", async () => {
    const first = h.request("Which documents do I need to open an account?", { tenant: "replay" });
    await h.teach(first);
    const before = await h.entryKeys("replay");
    const feed = `${h.env.CACHE_KEY_PREFIX}:feed`;
    const feedBefore = (await h.redis.xrevrange(feed, "+", "-", "COUNT", 1))[0]?.[0] ?? "0-0";
    // The executor's output is redelivered twice (at-least-once), with different content even.
    await h.respond(answerTo(first));
    await h.respond(answerTo(first, { content: "a second, different answer" }));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await h.entryKeys("replay")).toEqual(before);
    // No change-feed event for this tenant since (other tests' late answers may add theirs).
    const since = await h.redis.xrange(feed, `(${feedBefore}`, "+");
    expect(since.filter(([, fields]) => fields[fields.indexOf("t") + 1] === "replay")).toEqual([]);
    const out = await h.ask(h.request("Which documents do I need to open an account?", { tenant: "replay" }));
    expect(out).toMatchObject({ kind: "hit", response: { content: h.responses.get(first.request_id)![0]!.content, cache_source_request_id: first.request_id } });
  });

  it("does not learn from its own hits", async () => {
    const first = h.request("How long does a SEPA transfer take?", { tenant: "self" });
    await h.teach(first);
    const hit = await h.ask(h.request("How long does a SEPA transfer take?", { tenant: "self" }));
    expect(hit.kind).toBe("hit");
    await new Promise((r) => setTimeout(r, 1_000));
    const entries = await Promise.all((await h.entryKeys()).map(async (k) => JSON.parse((await h.redis.get(k))!) as { tenant: string; source_request_id: string }));
    expect(entries.filter((e) => e.tenant === "self").map((e) => e.source_request_id)).toEqual([first.request_id]);
  });

  it("invalidates a tenant's use case from the command line, for exact and semantic lookups", async () => {
    const first = h.request("What is the daily ATM withdrawal limit?", { tenant: "inv" });
    await h.teach(first);
    expect((await h.ask(h.request("What is the daily ATM withdrawal limit?", { tenant: "inv" }))).kind).toBe("hit");
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", cli, "invalidate", "--tenant", "inv", "--use-case", "faq"], {
      env: { ...process.env, REDIS_URL: h.env.REDIS_URL, CACHE_KEY_PREFIX: h.env.CACHE_KEY_PREFIX },
    });
    expect(stdout).toMatch(/invalidated 1 entry \(tenant inv, use case faq\)/);
    const after = h.request("What is the daily ATM withdrawal limit?", { tenant: "inv" });
    h.unanswered.add(after.request_id); // nothing is learned again before the paraphrase below
    expect((await h.ask(after)).kind).toBe("uncached");
    expect((await h.ask(h.request("What's the daily limit for ATM withdrawals?", { tenant: "inv" }))).kind).toBe("uncached");
  });
});
