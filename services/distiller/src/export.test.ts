import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { countChatTokens } from "@costwise/providers";
import { buildExport, splitBucket, summarise, toChatJsonl, toPromptCompletionJsonl, tokensCostNanoUsd, type SampleRow } from "./export.ts";
import { checkChatExample, checkChatFile } from "./finetune-format.ts";
import { promptHash } from "./capture.ts";
import { triagePolicy } from "./testing/fixtures.ts";

const tokens = (m: { role: string; content: string }[]) => countChatTokens(m, "gpt-4.1-nano");
const row = (id: string, question: string, answer: string, over: Partial<SampleRow> = {}): SampleRow => {
  const roles = ["system", "user"], contents = ["Label the customer's message.", question];
  return {
    request_id: id, tenant: "acme", message_roles: roles, message_contents: contents, completion: answer,
    prompt_hash: promptHash(roles.map((role, i) => ({ role, content: contents[i]! }))), quality: 0, has_quality: 0, captured_at: "2026-11-26 09:00:00", ...over,
  };
};
const opts = { validationFraction: 0.2, maxExampleTokens: 65_536, tokens };

describe("export", () => {
  const rows = Array.from({ length: 60 }, (_, i) => row(`r${i}`, `Question number ${i} about my card fee`, i % 2 ? "billing" : "cards"));

  it("deduplicates by normalised prompt, keeping the best-rated then most recent answer", () => {
    const dupes = [
      row("a", "Where is my refund?", "old answer", { captured_at: "2026-11-01 00:00:00" }),
      row("b", "where is my  REFUND?", "newer answer", { captured_at: "2026-11-02 00:00:00" }),
      row("c", "Where is my refund?", "rated answer", { has_quality: 1, quality: 0.9, captured_at: "2026-10-01 00:00:00" }),
    ];
    const set = buildExport(dupes, { ...opts, validationFraction: 0 });
    expect(set.duplicates).toBe(2);
    expect(set.train.map((e) => e.messages.at(-1)!.content)).toEqual(["rated answer"]);
    expect(buildExport(dupes.slice(0, 2), { ...opts, validationFraction: 0 }).train.map((e) => e.requestId)).toEqual(["b"]);
  });

  it("splits deterministically by prompt: the same prompt is always on the same side, whatever else is exported", () => {
    const a = buildExport(rows, opts);
    const b = buildExport([...rows.slice(30), ...rows.slice(0, 30)], opts);
    expect(b.validation.map((e) => e.requestId)).toEqual(a.validation.map((e) => e.requestId));
    const smaller = buildExport(rows.slice(0, 20), opts);
    for (const e of smaller.validation) expect(a.validation.map((x) => x.requestId)).toContain(e.requestId);
    expect(a.validation.length + a.train.length).toBe(60);
    expect(a.validation.length).toBeGreaterThan(4);
    expect(a.validation.length).toBeLessThan(22);
    for (const e of a.validation) expect(splitBucket(e.promptHash)).toBeLessThan(0.2);
  });

  it("writes files that pass every OpenAI chat fine-tuning rule, ending with the assistant's answer", () => {
    const set = buildExport(rows, opts);
    const file = toChatJsonl(set.train);
    const check = checkChatFile(file, { maxTokens: 65_536, tokens });
    expect(check).toEqual({ lines: [], file: [], examples: set.train.length });
    const first = JSON.parse(file.split("\n")[0]!) as { messages: { role: string }[] };
    expect(first.messages.map((m) => m.role)).toEqual(["system", "user", "assistant"]);
    const pc = toPromptCompletionJsonl(set.train).split("\n")[0]!;
    expect(JSON.parse(pc)).toEqual({ prompt: expect.stringMatching(/^system: Label the customer's message\.\n\nuser: Question number \d+/), completion: expect.stringMatching(/^(billing|cards)$/) });
  });

  it("drops examples OpenAI would refuse, and says why", () => {
    const bad = [row("tool", "x", "y", { message_roles: ["tool", "user"] }), row("empty", "What now?", "   "), row("long", "word ".repeat(500), "ok")];
    const set = buildExport(bad, { ...opts, maxExampleTokens: 300 });
    expect(set.invalid.map((i) => i.requestId).sort()).toEqual(["empty", "long", "tool"]);
    expect(set.invalid.find((i) => i.requestId === "tool")!.errors).toContain('messages[0].role "tool" is not system, user or assistant');
    expect(set.invalid.find((i) => i.requestId === "empty")!.errors).toContain("messages[2].content is missing or empty");
    expect(set.invalid.find((i) => i.requestId === "long")!.errors[0]).toMatch(/over the 300-token training example limit/);
  });

  it("summarises counts, tokens and the training cost at the base model's fine-tuning price", () => {
    const uc = triagePolicy().useCases.get("triage")!; // candidate gpt-4.1-nano: $1.50/1M training tokens, 3 epochs
    const set = buildExport(rows, opts);
    const s = summarise(set, { useCase: "triage", since: new Date(0) }, uc, catalog);
    const trainTokens = set.train.reduce((a, e) => a + tokens([...e.messages]), 0);
    expect(s).toMatchObject({ capturedRows: 60, duplicates: 0, invalid: 0, model: "gpt-4.1-nano", epochs: 3, trainingPricePerMTok: "1.50", train: { examples: set.train.length, tokens: trainTokens } });
    expect(s.estimatedTrainingCostNanoUsd).toBe(trainTokens * 3 * 1_500);
    expect(tokensCostNanoUsd(1_000_000, "3.00")).toBe(3_000_000_000);
    expect(summarise(buildExport(rows.slice(0, 5), opts), { useCase: "triage", since: new Date(0) }, uc, catalog).warnings[0]).toMatch(/OpenAI needs at least 10/);
  });
});

describe("OpenAI chat fine-tuning format", () => {
  const ok = (messages: unknown[]) => checkChatExample(JSON.stringify({ messages }), { maxTokens: 1000, tokens }).errors;
  it("accepts a valid example and names each broken rule", () => {
    expect(ok([{ role: "user", content: "hi" }, { role: "assistant", content: "hello", weight: 1 }])).toEqual([]);
    expect(ok([{ role: "user", content: "hi" }])).toContain("the last message is not the assistant's answer");
    expect(ok([{ role: "assistant", content: "hello" }])).toContain("no user message");
    expect(ok([{ role: "user", content: "hi", extra: 1 }, { role: "assistant", content: "x" }])).toContain("messages[0] has unrecognised keys: extra");
    expect(ok([{ role: "user", content: "hi" }, { role: "system", content: "late" }, { role: "assistant", content: "x" }])).toContain("messages[1] is a system message after the first position");
    expect(ok([{ role: "user", content: "hi", weight: 1 }, { role: "assistant", content: "x" }])).toContain("messages[0].weight must be 0 or 1 and only on assistant messages");
    expect(checkChatExample("{", { maxTokens: 1, tokens }).errors).toEqual(["not valid JSON"]);
    expect(checkChatExample(JSON.stringify({ prompt: "a" }), { maxTokens: 1, tokens }).errors).toEqual(["unrecognised keys: prompt", "messages is missing or empty"]);
  });
});
