import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Command } from "commander";
import { sqlLiteral } from "@costwise/infra";
import { catalog } from "@costwise/pricing";
import { countChatTokens } from "@costwise/providers";
import { memoryDistillSwitchStore } from "@costwise/route-state";
import { emptyPipelineState, newRequest, topics, type LlmRequest } from "@costwise/schemas";
import { silentLogger } from "@costwise/stream-runtime";
import { registerDistillCommands, type DistillCliDeps } from "./cli.ts";
import { loadDistillerConfig } from "./config.ts";
import type { ExportSummary } from "./export.ts";
import { checkChatFile } from "./finetune-format.ts";
import { loadDistillPolicy, type DistillPolicy } from "./policy.ts";
import { startDistiller } from "./service.ts";
import type { UseCaseStatus } from "./status.ts";
import { IntStack } from "./testing/int-harness.ts";
import { wilsonInterval } from "./wilson.ts";

const USE_CASE = "distill-demo";
const policyYaml = (lower: number) => `version: 1
useCases:
  ${USE_CASE}:
    capture: { enabled: true, sampleRate: 1 }
    candidate: gpt-4.1-nano
    shadow: { sampleRate: 1, scorer: exact }
    readiness: { minSamples: 10, minAgreementLower: ${lower} }
    enabled: true
`;
const SYSTEM = "You route customer messages to the team that handles them. Answer with the team name.";
// The emulator's answer starts "Regarding <the question's first words>" and is seeded by model and
// messages. Capped at 6 tokens both models give the same words (agreement); uncapped, the
// frontier and the candidate draw different sentences (disagreement). Contents carry no run id,
// so the outcome is the same on every run.
const agreeing = (i: number) => `Which team handles a disputed card payment, case ${i}? Reach me at jane.doe${i}@example.com or +44 20 7946 0958, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00.`;
const disagreeing = (i: number) => `Email jane.doe@example.com about card 4111 1111 1111 1111 and the refund of order ${i}, please.`;

describe("distiller on the real stack: capture with redaction, shadow scoring, export and status", () => {
  const stack = new IntStack();
  const tenant = stack.run;
  let policyFile: string;
  let policy: DistillPolicy;
  const req = (id: string, content: string, over: Partial<LlmRequest> = {}) =>
    newRequest({ request_id: `${stack.run}-${id}`, tenant, use_case: USE_CASE, model: "gpt-4o", messages: [{ role: "system", content: SYSTEM }, { role: "user", content }], ...over });

  beforeAll(async () => {
    policyFile = stack.tempFile("distill-policy.yaml", policyYaml(0.45));
    policy = loadDistillPolicy(policyFile, catalog);
    const config = loadDistillerConfig(stack.config("distiller", { DISTILL_POLICY_FILE: policyFile, DISTILL_REDIS_PREFIX: `costwise:distill:${stack.run}` }));
    await stack.startAtEnd("distiller", [topics.ready, topics.batch, topics.responses]);
    await Promise.all([
      stack.startExecutor(topics.ready, [topics.responses, topics.costRecords]),
      stack.startSink([topics.distillSamples, topics.costRecords]),
      startDistiller(config, { logger: silentLogger }).then((s) => stack.track(s)),
    ]);
  });
  afterAll(() => stack.close());

  it("captures frontier answers redacted into distill_samples, and scores the candidate in distill_shadow", async () => {
    const small = { pipeline: { ...emptyPipelineState(), route: { tier: "small", model: "gpt-4o-mini", provider: "openai", strategy: "rules", score: 0.1, reason: "test", shadow: false, cascade: null } } };
    const requests = [
      ...Array.from({ length: 12 }, (_, i) => req(`agree-${i}`, agreeing(i), { max_tokens: 6 })),
      req("agree-dup", agreeing(0), { max_tokens: 6 }), // the same prompt again: two samples, one training example
      ...Array.from({ length: 4 }, (_, i) => req(`disagree-${i}`, disagreeing(i), { max_tokens: 200 })),
      ...Array.from({ length: 2 }, (_, i) => req(`small-${i}`, agreeing(100 + i), { max_tokens: 6, ...small })), // answered by the small tier: not captured
    ];
    await stack.produce(topics.ready, requests);

    const where = `WHERE tenant = ${sqlLiteral(tenant)}`;
    const samples = await stack.until("17 samples", async () => {
      const rows = await stack.query<{ request_id: string; message_contents: string[]; completion: string; redaction_names: string[]; redaction_counts: number[]; model: string }>(
        `SELECT request_id, message_contents, completion, redaction_names, redaction_counts, model FROM ${stack.database}.distill_samples FINAL ${where}`,
      );
      return rows.length >= 17 ? rows : undefined;
    });
    expect(samples).toHaveLength(17);
    expect(samples.some((s) => s.request_id.includes("small"))).toBe(false);
    expect(new Set(samples.map((s) => s.model))).toEqual(new Set(["gpt-4o"]));
    const text = JSON.stringify(samples);
    for (const pii of ["jane.doe", "@example.com", "4111 1111 1111 1111", "7946 0958", "DE89 3704"]) expect(text).not.toContain(pii);
    const agree0 = samples.find((s) => s.request_id.endsWith("-agree-0"))!;
    expect(agree0.message_contents[1]).toBe("Which team handles a disputed card payment, case 0? Reach me at [EMAIL] or [PHONE], card [CARD], IBAN [IBAN].");
    const dis = samples.find((s) => s.request_id.endsWith("-disagree-0"))!;
    expect(dis.completion).toMatch(/^Regarding email \[EMAIL\] about card \[CARD\]…: \S/);
    expect(Object.fromEntries(dis.redaction_names.map((n, i) => [n, Number(dis.redaction_counts[i])]))).toEqual({ email: 2, card: 2 });

    const shadow = await stack.until("17 shadow comparisons", async () => {
      const rows = await stack.query<{ request_id: string; agreed: number; decided: number; candidate_model: string; candidate_cost_nanousd: string; frontier_cost_nanousd: string }>(
        `SELECT request_id, agreed, decided, candidate_model, toString(candidate_cost_nanousd) AS candidate_cost_nanousd, toString(frontier_cost_nanousd) AS frontier_cost_nanousd FROM ${stack.database}.distill_shadow FINAL ${where}`,
      );
      return rows.length >= 17 ? rows : undefined;
    });
    expect(shadow).toHaveLength(17);
    expect(shadow.every((r) => r.candidate_model === "gpt-4.1-nano" && r.decided === 1)).toBe(true);
    expect(shadow.filter((r) => r.agreed === 1).map((r) => r.request_id.replace(`${stack.run}-`, "")).sort()).toEqual([...Array.from({ length: 12 }, (_, i) => `agree-${i}`), "agree-dup"].sort());
    // The candidate costs a fraction of the frontier answer on every comparison.
    for (const r of shadow) expect(Number(r.candidate_cost_nanousd)).toBeLessThan(Number(r.frontier_cost_nanousd) / 10);
    await stack.until("19 llm_calls", async () => {
      const [r] = await stack.query<{ n: string }>(`SELECT toString(count()) AS n FROM ${stack.database}.llm_calls FINAL ${where}`);
      return Number(r!.n) >= 19 ? true : undefined;
    });
  });

  const cli = (p: () => DistillPolicy) => {
    let out = "";
    const deps: DistillCliDeps = {
      open: async () => stack.distillRuntime(),
      policy: p, routerUseCases: () => new Set(), catalog, now: () => new Date(), out: (t) => void (out += t),
    };
    const program = new Command("costwise").exitOverride();
    registerDistillCommands(program, deps);
    return { run: async (...args: string[]) => ((out = ""), await program.parseAsync(args, { from: "user" }), out) };
  };

  it("exports a deduplicated train/validation split that passes the OpenAI fine-tuning format rules", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), `${stack.run}-export-`));
    const summary = JSON.parse(await cli(() => policy).run("distill", "export", "--use-case", USE_CASE, "--tenant", tenant, "--since", "1h", "--out", dir, "--format", "json")) as ExportSummary & { files: string[] };
    expect(summary).toMatchObject({ capturedRows: 17, duplicates: 1, invalid: 0, model: "gpt-4.1-nano", epochs: 3, trainingPricePerMTok: "1.50" });
    expect(summary.train.examples + summary.validation.examples).toBe(16);
    const tokens = (m: { role: string; content: string }[]) => countChatTokens(m, "gpt-4.1-nano");
    const train = readFileSync(path.join(dir, `${tenant}.${USE_CASE}.train.jsonl`), "utf8");
    const validation = readFileSync(path.join(dir, `${tenant}.${USE_CASE}.validation.jsonl`), "utf8");
    expect(checkChatFile(train, { maxTokens: 65_536, tokens })).toEqual({ lines: [], file: [], examples: summary.train.examples });
    expect(checkChatFile(validation, { maxTokens: 65_536, tokens, minExamples: 0 }).lines).toEqual([]);
    const lines = [...train.trim().split("\n"), ...validation.trim().split("\n")].filter(Boolean).map((l) => JSON.parse(l) as { messages: { role: string; content: string }[] });
    expect(lines.reduce((a, l) => a + tokens(l.messages), 0)).toBe(summary.train.tokens + summary.validation.tokens);
    expect(summary.estimatedTrainingCostNanoUsd).toBe(summary.train.tokens * 3 * 1_500);
    expect(lines.every((l) => l.messages.at(-1)!.role === "assistant" && l.messages[0]!.content === SYSTEM)).toBe(true);
    const pc = readFileSync(path.join(dir, `${tenant}.${USE_CASE}.train.prompt-completion.jsonl`), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { prompt: string; completion: string });
    expect(pc).toHaveLength(summary.train.examples);
    expect(pc[0]!.prompt.startsWith(`system: ${SYSTEM}\n\nuser: `)).toBe(true);
  });

  it("reports shadow agreement with its Wilson interval, the projected saving and readiness against the bar", async () => {
    const [s] = JSON.parse(await cli(() => policy).run("distill", "status", "--tenant", tenant, "--since", "1h", "--format", "json")) as UseCaseStatus[];
    const ci = wilsonInterval(13, 17)!;
    expect(s).toMatchObject({ tenant, useCase: USE_CASE, candidate: "gpt-4.1-nano", samples: 17, uniquePrompts: 16, decided: 17, agreed: 13, ready: true, switchState: "off" });
    expect(s!.interval!.lower).toBeCloseTo(ci.lower, 12);
    expect(s!.interval!.upper).toBeCloseTo(ci.upper, 12);
    // 19 OK model calls in the last hour, scaled to 30 days; gpt-4o → gpt-4.1-nano saves most of their cost.
    expect(s!.projection!.monthlyCalls).toBeGreaterThan(19 * 720 * 0.99);
    expect(s!.projection!.monthlyCalls).toBeLessThan(19 * 720 * 1.01);
    expect(s!.projection!.monthlySavingNanoUsd).toBeGreaterThan(s!.projection!.monthlyCostNanoUsd * 0.8);
    const strict = loadDistillPolicy(stack.tempFile("strict.yaml", policyYaml(0.6)), catalog);
    const [t] = JSON.parse(await cli(() => strict).run("distill", "status", "--tenant", tenant, "--since", "1h", "--format", "json")) as UseCaseStatus[];
    expect(t).toMatchObject({ ready: false, reason: `agreement lower bound ${ci.lower.toFixed(3)} < 0.6` });
  });
});
