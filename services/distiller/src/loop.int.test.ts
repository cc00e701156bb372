import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Command } from "commander";
import OpenAI from "openai";
import { sqlLiteral } from "@costwise/infra";
import { catalog } from "@costwise/pricing";
import { loadPolicy, loadRouterConfig, startRouter } from "@costwise/router";
import { DISTILLED_TIER, redisDistillSwitchStore, redisRouteStore } from "@costwise/route-state";
import { newRequest, topics, type LlmResponse, type TopicSpec } from "@costwise/schemas";
import { silentLogger } from "@costwise/stream-runtime";
import { registerDistillCommands, type DistillCliDeps } from "./cli.ts";
import { loadDistillerConfig } from "./config.ts";
import type { EvalSummary } from "./evaluate.ts";
import { redisJobStore, type JobRecord } from "./jobs.ts";
import { loadDistillPolicy } from "./policy.ts";
import { startDistiller } from "./service.ts";
import { routerPolicyYaml } from "./testing/fixtures.ts";
import { IntStack } from "./testing/int-harness.ts";

// The whole loop on the real stack and the emulator: capture frontier answers → export → train a
// fine-tuned gpt-4o-mini through the OpenAI SDK (the CLI restarted in the middle of the job) →
// evaluate it in shadow on traffic it was not trained on → switch, ramping 50% → 100% on the
// router's live shadow evidence → fall back to the frontier when live quality drops.
// The emulator's modelAgreement knob decides whether models answer alike (1: the fine-tuned model
// answers unseen prompts as gpt-4o does; 0: it does not): a test device, so no figure here is a measurement.

const USE_CASE = "distill-loop";
const ROUTER_POLICY = routerPolicyYaml(USE_CASE);
const DISTILL_POLICY = `version: 1
useCases:
  ${USE_CASE}:
    capture: { enabled: true, sampleRate: 1, frontierModels: [gpt-4o] }
    fineTuneBase: gpt-4o-mini
    shadow: { sampleRate: 0.05, scorer: embedding, similarity: 0.8 }
    readiness: { minSamples: 6, minAgreementLower: 0.55 }
    export: { validationFraction: 0.25, epochs: 2 }
    ramp: { steps: [50, 100], minLiveSamples: 3 }
    enabled: true
`;
const SYSTEM = "You answer questions about the bank's savings products in two sentences.";
// No PII: capture redacts it, and a redacted prompt is not the prompt the frontier model answered.
const question = (i: number) => `What changes for savings plan number ${i} when the base rate moves?`;

describe("distillation loop on the real stack: capture → export → train (restarted) → evaluate → switch → fall back", () => {
  const stack = new IntStack();
  const tenant = stack.run;
  const prefix = `cw:router:${stack.run}`;
  const switchKey = `costwise:distill:switches:${stack.run}`;
  const jobsKey = `costwise:distill:jobs:${stack.run}`;
  const routerPolicy = stack.tempFile("router-policy.yaml", ROUTER_POLICY);
  const policyFile = stack.tempFile("distill-policy.yaml", DISTILL_POLICY);
  const switches = redisDistillSwitchStore(stack.env.REDIS_URL!, { key: switchKey });
  const routes = redisRouteStore(stack.env.REDIS_URL!, { prefix, timeoutMs: 2_000 });
  const emulator = stack.env.EMULATOR_URL!;
  const openai = new OpenAI({ apiKey: "test", baseURL: `${emulator}/v1`, maxRetries: 0, timeout: 10_000 });
  const admin = async (body: object) => {
    const r = await fetch(`${emulator}/_emulator/config`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
    expect(r.status).toBe(200);
  };
  let responses: Map<string, LlmResponse>;

  /** One `costwise distill …` process: its own runtime and job store connection, as after a restart. */
  const costwise = async (...args: string[]) => {
    let out = "";
    const jobs = redisJobStore(stack.env.REDIS_URL!, { key: jobsKey });
    const deps: DistillCliDeps = {
      open: async () => stack.distillRuntime({ switches, fallbacks: () => routes.fallbacks(), jobs }),
      policy: () => loadDistillPolicy(policyFile, catalog),
      routerUseCases: () => new Set(loadPolicy(routerPolicy, { catalog }).useCases.keys()),
      catalog, now: () => new Date(), out: (t) => void (out += t), backoff: { initialMs: 200, maxMs: 1_000, factor: 2 },
    };
    const program = new Command("costwise").exitOverride();
    registerDistillCommands(program, deps);
    try {
      await program.parseAsync(["distill", ...args], { from: "user" });
    } finally {
      await jobs.close();
    }
    return out;
  };
  const lastJson = <T>(out: string): T => JSON.parse(out.trim().split("\n").at(-1)!) as T;
  const id = (s: string) => `${stack.run}-${s}`;
  const ask = (topic: TopicSpec, names: string[], from: number) =>
    stack.produce(topic, names.map((n, k) => newRequest({ request_id: id(n), tenant, use_case: USE_CASE, model: "gpt-4o", messages: [{ role: "system", content: SYSTEM }, { role: "user", content: question(from + k) }] })));
  const answered = (names: string[]) => stack.until(`responses to ${names.length} requests`, async () => (names.every((n) => responses.has(id(n))) ? names.map((n) => responses.get(id(n))!) : undefined), 90_000);
  const samples = (n: number) =>
    stack.until(`${n} captured samples`, async () => {
      const [r] = await stack.query<{ n: string }>(`SELECT toString(count()) AS n FROM ${stack.database}.distill_samples FINAL WHERE tenant = ${sqlLiteral(tenant)}`);
      return Number(r!.n) >= n ? true : undefined;
    }, 90_000);
  const names = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);

  beforeAll(async () => {
    await admin({ modelAgreement: 1, fineTuning: { validatingMs: 300, queuedMs: 700, runningMs: 3_000 } });
    stack.onClose(() => switches.close());
    stack.onClose(() => routes.close());
    const distiller = loadDistillerConfig(stack.config("distiller", { DISTILL_POLICY_FILE: policyFile, DISTILL_REDIS_PREFIX: `costwise:distill:${stack.run}` }));
    const router = loadRouterConfig(
      stack.config("router", {
        ROUTER_POLICY_FILE: routerPolicy, ROUTER_REDIS_PREFIX: prefix, ROUTER_DISTILL_SWITCH_KEY: switchKey, ROUTER_DISTILL_REFRESH_MS: "200",
        ROUTER_FALLBACK_REFRESH_MS: "200", ROUTER_SHADOW_METRICS_PORT: "0",
      }),
    );
    await stack.startAtEnd("distiller", [topics.ready, topics.batch, topics.responses]);
    await stack.startAtEnd("router", [topics.uncached]);
    await stack.startAtEnd("router-shadow", [topics.responses]);
    responses = await stack.listen<LlmResponse>(topics.responses);
    await Promise.all([
      stack.startExecutor(topics.ready, [topics.responses, topics.costRecords], "executor-ready"),
      stack.startExecutor(topics.routed, [topics.responses, topics.costRecords], "executor-routed"),
      stack.startSink([topics.distillSamples, topics.costRecords]),
      startDistiller(distiller, { logger: silentLogger }).then((s) => stack.track(s)),
      startRouter(router, { logger: silentLogger }).then((r) => stack.track(r)),
    ]);
  }, 120_000);
  afterAll(async () => {
    await admin({ modelAgreement: 0, fineTuning: { validatingMs: 1_000, queuedMs: 1_000, runningMs: 8_000 } }).catch(() => undefined);
    await stack.close();
  });

  let job: JobRecord;

  it("refuses to train on too few examples, then trains through a restart and records the model and its training cost", async () => {
    await expect(costwise("train", "--use-case", USE_CASE, "--tenant", `${tenant}-nobody`, "--since", "1h")).rejects.toThrow(/has 0 training example\(s\) after deduplication .*OpenAI needs at least 10/);

    await ask(topics.ready, names("t", 24), 0);
    await answered(names("t", 24));
    await samples(24);

    // The first process gives up polling after a second, with the job still running at the provider.
    const first = await costwise("train", "--use-case", USE_CASE, "--tenant", tenant, "--since", "1h", "--wait", "1s");
    expect(first).toMatch(/^created ftjob-\S+ on gpt-4o-mini: \d+ training examples/m);
    expect(first).toMatch(/is still (validating_files|queued|running): run the same command again to resume polling it/);
    // A new process finds the stored job id and resumes it: one job at the provider, not two.
    const second = await costwise("train", "--use-case", USE_CASE, "--tenant", tenant, "--since", "1h", "--wait", "2m", "--format", "json");
    expect(second).toMatch(/^resuming ftjob-/);
    job = JSON.parse(second.slice(second.indexOf("{"))) as JobRecord;
    expect(job).toMatchObject({ status: "succeeded", baseModel: "gpt-4o-mini", epochs: 2, tenant });
    expect(job.fineTunedModel).toMatch(/^ft:gpt-4o-mini-2024-07-18:emulator:distill-loop:/);
    expect(job.trainExamples).toBeGreaterThanOrEqual(10);
    // trained tokens × $3.00 per million (gpt-4o-mini's training price), exactly.
    expect(job.trainingCostNanoUsd).toBe(job.trainedTokens! * 3_000);
    const mine = (await openai.fineTuning.jobs.list({ limit: 100 })).data.filter((j) => j.metadata?.["costwise_tenant"] === tenant);
    expect(mine.map((j) => j.id)).toEqual([job.jobId]);
  }, 240_000);

  it("evaluates the fine-tuned model on traffic it was not trained on, then switches, ramping on live evidence", async () => {
    await expect(costwise("switch", "--use-case", USE_CASE, "--tenant", tenant, "--since", "1h")).rejects.toThrow(`is not ready for ${job.fineTunedModel}`);
    await ask(topics.ready, names("e", 8), 100);
    await answered(names("e", 8));
    await samples(32);

    const out = await costwise("evaluate", "--use-case", USE_CASE, "--tenant", tenant, "--since", "1h");
    const summary = lastJson<EvalSummary>(out);
    expect(summary.candidate.model).toBe(job.fineTunedModel);
    expect(summary.items).toBe(32 - job.trainExamples);
    expect(summary.candidate.decided, out).toBe(summary.items);
    expect(summary.meets).toBe(true);
    expect(summary.baseline?.model).toBe("gpt-4o-mini");
    expect(out).toMatch(/^candidate ft:gpt-4o-mini-2024-07-18:emulator:distill-loop:\S+: \d+\/\d+ agree \(100\.0%; Wilson 95% /m);

    expect(await costwise("switch", "--use-case", USE_CASE, "--tenant", tenant, "--since", "1h")).toMatch(new RegExp(`^switched on: ${tenant}/${USE_CASE} → ${job.fineTunedModel!.replace(/[.]/g, "\\.")} at 50% of its traffic \\(step 1 of 2;`));
    await expect(costwise("switch", "--use-case", USE_CASE, "--tenant", tenant, "--since", "1h")).rejects.toThrow(/at 50%: 0 of 5 live shadow comparisons since the step began/);
    await new Promise((r) => setTimeout(r, 600)); // the router re-reads switches every 200 ms

    // The step asks for 3 live comparisons, but a Wilson lower bound of 0.55 needs 5 even if all agree.
    await ask(topics.uncached, names("h", 24), 200);
    const half = await answered(names("h", 24));
    const served = half.filter((r) => r.model === job.fineTunedModel).length;
    expect(served).toBeGreaterThan(4);
    expect(served).toBeLessThan(24);
    await stack.until("5 live comparisons of the distilled route", async () => {
      const [r] = await stack.query<{ n: string }>(`SELECT toString(sum(decided)) AS n FROM ${stack.database}.route_shadow FINAL WHERE tenant = ${sqlLiteral(tenant)} AND cheap_tier = ${sqlLiteral(DISTILLED_TIER)}`);
      return Number(r!.n) >= 5 ? true : undefined;
    }, 60_000);
    expect(await costwise("switch", "--use-case", USE_CASE, "--tenant", tenant, "--since", "1h")).toMatch(/at 100% of its traffic \(step 2 of 2;/);
  }, 240_000);

  it("falls back to the frontier automatically when the live quality drops, and refuses to ramp while in fallback", async () => {
    await new Promise((r) => setTimeout(r, 600));
    await admin({ modelAgreement: 0 });
    await ask(topics.uncached, names("f", 10), 300);
    const all = await answered(names("f", 10));
    expect(all.filter((r) => r.model === job.fineTunedModel).length).toBeGreaterThan(0);
    const fb = await stack.until("the distilled route to enter fallback", async () => (await routes.fallbacks()).get(JSON.stringify([USE_CASE, DISTILLED_TIER])), 60_000);
    expect(fb.agreement).toBeLessThan(0.8);
    await new Promise((r) => setTimeout(r, 600));
    await ask(topics.uncached, names("g", 3), 400);
    expect((await answered(names("g", 3))).map((r) => r.model)).toEqual(["gpt-4o", "gpt-4o", "gpt-4o"]);
    await expect(costwise("switch", "--use-case", USE_CASE, "--tenant", tenant, "--since", "1h")).rejects.toThrow(/is in automatic fallback/);
    const [status] = JSON.parse(await costwise("status", "--tenant", tenant, "--since", "1h", "--format", "json")) as { switchState: string; switchedModel: string }[];
    expect(status).toMatchObject({ switchState: "fallback", switchedModel: job.fineTunedModel });

    // The cost records of the fine-tuned calls use its fine-tuned prices.
    const [cost] = await stack.query<{ n: string; bad: string }>(
      `SELECT toString(count()) AS n, toString(countIf(cost_nanousd = 0)) AS bad FROM ${stack.database}.llm_calls FINAL WHERE tenant = ${sqlLiteral(tenant)} AND model_used = ${sqlLiteral(job.fineTunedModel!)}`,
    );
    expect(Number(cost!.n)).toBeGreaterThan(0);
    expect(cost!.bad).toBe("0");

    const advice = JSON.parse(await costwise("advise", "--use-case", USE_CASE, "--tenant", tenant, "--since", "1h", "--format", "json")) as { candidate: string; trainingCostNanoUsd: number; trainingCostSource: string; breakEvenCalls: number | null }[];
    expect(advice[0]).toMatchObject({ candidate: job.fineTunedModel, trainingCostNanoUsd: job.trainingCostNanoUsd, trainingCostSource: "job" });
    expect(advice[0]!.breakEvenCalls).toBeGreaterThan(0);
  }, 240_000);
});
