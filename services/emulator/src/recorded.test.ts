import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { contentKey, NOT_IN_CONTEXT, outcomeText, readerAnswer, statedIntent } from "./recorded.ts";
import { createEmulator, type Emulator } from "./server.ts";

let emulator: Emulator | undefined;
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

function make() {
  emulator = createEmulator();
  return emulator.app;
}

const SECRET = "Zanzibar-4711";
const router = {
  kind: "router", id: "gsm8k:1", turns: ["How many eggs does Janet sell?"],
  strong: { model: "gpt-4-1106-preview", score: 1, response: "She sells 9 eggs.\n#### 9", response_chars: 24 },
  weak: { model: "mixtral", score: 0, response: "She sells 13 eggs.\n#### 13", response_chars: 25 },
};
const mtbench = {
  kind: "router", id: "mt_bench:81:turn2", turns: ["Write a travel blog post about Hawaii.", "Rewrite it starting every sentence with A."],
  strong: { model: "gpt-4-1106-preview", score: 9, response_chars: 600 },
  weak: { model: "mixtral", score: 4, response_chars: 300 },
};
const cache = { kind: "cache", id: "banking77:1", turns: ["Where is my new card?"], intent: "card_arrival" };
const oos = { kind: "cache", id: "clinc:oos:7", turns: ["What is the capital of Peru?"], intent: "oos", oos: true };
const compress = { kind: "compress", id: "xquad:1", turns: ["Who gave the settlers a common identity?"], answers: [SECRET] };

async function load(app: Emulator["app"], body: Record<string, unknown>) {
  return app.inject({ method: "POST", url: "/_emulator/recorded", payload: body });
}
async function chat(app: Emulator["app"], model: string, messages: { role: string; content: string }[], extra: Record<string, unknown> = {}) {
  const res = await app.inject({ method: "POST", url: "/v1/chat/completions", payload: { model, messages, ...extra } });
  expect(res.statusCode).toBe(200);
  return res.json() as { choices: { message: { content: string }; finish_reason: string }[]; usage: { completion_tokens: number } };
}
async function message(app: Emulator["app"], model: string, content: string) {
  const res = await app.inject({ method: "POST", url: "/v1/messages", payload: { model, max_tokens: 400, messages: [{ role: "user", content }] } });
  expect(res.statusCode).toBe(200);
  return (res.json() as { content: { text: string }[] }).content[0]!.text;
}

describe("recorded-answer mode", () => {
  it("gives a frontier-class model the strong outcome and a cheap-class model the weak one", async () => {
    const app = make();
    expect((await load(app, { entries: [router, mtbench] })).statusCode).toBe(201);
    const q = [{ role: "system", content: "Show your work." }, { role: "user", content: "How many eggs does  Janet sell?" }];
    expect((await chat(app, "gpt-4o", q)).choices[0]!.message.content).toBe(router.strong.response);
    expect((await chat(app, "gpt-4o-mini", q)).choices[0]!.message.content).toBe(router.weak.response);
    expect(await message(app, "claude-haiku-4-5", "how many eggs does janet sell?")).toBe(router.weak.response);
    expect(await message(app, "claude-sonnet-4-5", "How many eggs does Janet sell?")).toBe(router.strong.response);
  });

  it("keys a follow-up turn by every user turn and makes a synthetic answer as long as the recorded one", async () => {
    const app = make();
    await load(app, { entries: [mtbench] });
    const turns = [
      { role: "user", content: mtbench.turns[0]! },
      { role: "assistant", content: "Aloha!" },
      { role: "user", content: mtbench.turns[1]! },
    ];
    const strong = await chat(app, "gpt-4o", turns);
    expect(strong.choices[0]!.message.content).toBe(outcomeText(mtbench.id, "strong", mtbench.strong));
    expect(strong.choices[0]!.message.content).toHaveLength(600);
    const weak = await chat(app, "gpt-4o-mini", turns);
    expect(weak.choices[0]!.message.content).toHaveLength(300);
    expect(weak.usage.completion_tokens).toBeLessThan(strong.usage.completion_tokens);
    // The second turn alone is another request: not recorded.
    expect((await chat(app, "gpt-4o", [turns[2]!])).choices[0]!.message.content).toMatch(/^Regarding /);
  });

  it("honours the output cap and explicit model lists", async () => {
    const app = make();
    await load(app, { entries: [mtbench], strongModels: ["gpt-4o-mini"], weakModels: ["gpt-4o"] });
    const turns = [{ role: "user", content: mtbench.turns[0]! }, { role: "user", content: mtbench.turns[1]! }];
    expect((await chat(app, "gpt-4o-mini", turns)).choices[0]!.message.content).toHaveLength(600);
    const capped = await chat(app, "gpt-4o", turns, { max_tokens: 5 });
    expect(capped.usage.completion_tokens).toBe(5);
    expect(capped.choices[0]!.finish_reason).toBe("length");
  });

  it("states a cache row's intent, or the out-of-scope query it answers", async () => {
    const app = make();
    await load(app, { entries: [cache, oos] });
    const a = (await chat(app, "gpt-4o", [{ role: "user", content: "Where is my new card?" }])).choices[0]!.message.content;
    expect(statedIntent(a)).toEqual({ intent: "card_arrival" });
    const b = (await chat(app, "gpt-4o", [{ role: "user", content: "what is the capital of peru?" }])).choices[0]!.message.content;
    expect(statedIntent(b)).toEqual({ oosId: "clinc:oos:7" });
    expect(statedIntent("Regarding something: text")).toBeNull();
  });

  it("answers a compression row correctly only while a gold answer is in the context", async () => {
    const app = make();
    await load(app, { entries: [compress] });
    const q = compress.turns[0]!;
    // The executor renders context in front of the last user message.
    const withGold = `Answer using the context below.\n\n[a-0] In 911 ${SECRET.toLowerCase()} united them.\n\nQuestion: ${q}`;
    expect((await chat(app, "gpt-4o-mini", [{ role: "user", content: withGold }])).choices[0]!.message.content).toBe(readerAnswer(SECRET));
    const without = `Answer using the context below.\n\n[a-1] Something else entirely.\n\nQuestion: ${q}`;
    expect(await message(app, "claude-haiku-4-5", without)).toBe(NOT_IN_CONTEXT);
  });

  it("does not count a gold answer the question itself quotes", async () => {
    const app = make();
    const quoting = { kind: "compress", id: "x:2", turns: [`Is ${SECRET} the answer?`], answers: [SECRET] };
    await load(app, { entries: [quoting] });
    const content = `Answer using the context below.\n\n[a-0] Nothing here.\n\nQuestion: ${quoting.turns[0]}`;
    expect((await chat(app, "gpt-4o", [{ role: "user", content }])).choices[0]!.message.content).toBe(NOT_IN_CONTEXT);
  });

  it("rejects a bad load naming the field, and forgets everything on reset", async () => {
    const app = make();
    const bad = await load(app, { entries: [{ kind: "compress", id: "x", turns: ["q"], answers: [] }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain("entries.0.answers");
    expect((await load(app, { entries: [{ kind: "nope", id: "x", turns: ["q"] }] })).statusCode).toBe(400);
    await load(app, { entries: [router] });
    await app.inject({ method: "POST", url: "/_emulator/reset" });
    expect((await app.inject({ method: "GET", url: "/_emulator/recorded" })).json()).toMatchObject({ entries: 0 });
  });

  it("never shows the ground truth on a provider route or the admin read-outs", async () => {
    const app = make();
    await load(app, { entries: [compress, router, cache] });
    await chat(app, "gpt-4o", [{ role: "user", content: "unrelated question" }]);
    const reads = ["/_emulator/recorded", "/_emulator/stats", "/_emulator/config", "/v1/models", "/v1/models/gpt-4o", "/v1/files", "/v1/batches", "/v1/messages/batches"];
    for (const url of reads) {
      const body = (await app.inject({ method: "GET", url })).body;
      expect(body, url).not.toContain(SECRET);
      expect(body, url).not.toContain("card_arrival");
      expect(body, url).not.toContain("She sells 9 eggs");
    }
    const count = await app.inject({ method: "POST", url: "/v1/messages/count_tokens", payload: { model: "claude-haiku-4-5", messages: [{ role: "user", content: compress.turns[0] }] } });
    expect(count.body).not.toContain(SECRET);
    expect((await app.inject({ method: "GET", url: "/_emulator/recorded" })).json()).toEqual({
      entries: 3, byKind: { router: 1, cache: 1, compress: 1 }, answered: 0, unmatched: 1,
    });
  });

  it("uses a key that ignores case, curly quotes and spacing but not words", () => {
    expect(contentKey(["Where’s my  card?"])).toBe(contentKey(["where's my card?"]));
    expect(contentKey(["Where's my card?"])).not.toBe(contentKey(["Where's my cart?"]));
    expect(contentKey(["a", "b"])).not.toBe(contentKey(["a b"]));
  });
});

describe("ground truth isolation", () => {
  const services = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const sources = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) return name === "node_modules" || name === "testing" ? [] : sources(full);
      return /\.ts$/.test(name) && !/\.test\.ts$/.test(name) ? [full] : [];
    });

  it("no pipeline stage's code imports the emulator or calls its recorded-answer admin route", () => {
    const stages = readdirSync(services).filter((s) => s !== "emulator" && statSync(path.join(services, s, "src"), { throwIfNoEntry: false })?.isDirectory());
    expect(stages.length).toBeGreaterThan(5);
    const offenders = stages.flatMap((s) => sources(path.join(services, s, "src"))).filter((file) => {
      const text = readFileSync(file, "utf8");
      return /from\s+["']@costwise\/emulator["']|_emulator\/recorded/.test(text);
    });
    expect(offenders).toEqual([]);
  });
});
