import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Command } from "commander";
import { sqlLiteral } from "@costwise/infra";
import { catalog } from "@costwise/pricing";
import { loadPolicy, loadRouterConfig, startRouter } from "@costwise/router";
import { DISTILLED_TIER, redisDistillSwitchStore, redisRouteStore } from "@costwise/route-state";
import { newRequest, topics, type LlmResponse } from "@costwise/schemas";
import { silentLogger } from "@costwise/stream-runtime";
import { registerDistillCommands, type DistillCliDeps } from "./cli.ts";
import { loadDistillPolicy } from "./policy.ts";
import { chDateTime } from "@costwise/clickhouse-writer";
import type { UseCaseStatus } from "./status.ts";
import { routerPolicyYaml } from "./testing/fixtures.ts";
import { IntStack } from "./testing/int-harness.ts";

const USE_CASE = "distill-demo";
const ROUTER_POLICY = routerPolicyYaml(USE_CASE);
const DISTILL_POLICY = `version: 1
useCases:
  ${USE_CASE}:
    capture: { enabled: true }
    candidate: gpt-4.1-nano
    shadow: { sampleRate: 1, scorer: exact }
    readiness: { minSamples: 20, minAgreementLower: 0.85 }
    ramp: { steps: [100] }
    enabled: true
`;

describe("switch to the distilled model through the router, and its automatic fallback", () => {
  const stack = new IntStack();
  const tenant = stack.run;
  const prefix = `cw:router:${stack.run}`;
  const switchKey = `costwise:distill:switches:${stack.run}`;
  const routerPolicy = stack.tempFile("router-policy.yaml", ROUTER_POLICY);
  const policy = loadDistillPolicy(stack.tempFile("distill-policy.yaml", DISTILL_POLICY), catalog);
  const switches = redisDistillSwitchStore(stack.env.REDIS_URL!, { key: switchKey });
  const routes = redisRouteStore(stack.env.REDIS_URL!, { prefix, timeoutMs: 2_000 });
  let responses: Map<string, LlmResponse>;
  let out = "";
  const deps: DistillCliDeps = {
    open: async () => stack.distillRuntime({ switches, fallbacks: () => routes.fallbacks() }),
    policy: () => policy,
    routerUseCases: () => new Set(loadPolicy(routerPolicy, { catalog }).useCases.keys()),
    catalog, now: () => new Date(), out: (t) => void (out += t),
  };
  const costwise = async (...args: string[]) => {
    const program = new Command("costwise").exitOverride();
    registerDistillCommands(program, deps);
    out = "";
    await program.parseAsync(["distill", ...args], { from: "user" });
    return out;
  };
  // Uncapped answers of gpt-4.1-nano and gpt-4o differ (the emulator seeds each model differently): the exact judge disagrees.
  const send = (ids: string[]) =>
    stack.produce(topics.uncached, ids.map((id) => newRequest({ request_id: `${stack.run}-${id}`, tenant, use_case: USE_CASE, model: "gpt-4o", max_tokens: 200, messages: [{ role: "user", content: `Summarise the account activity of week ${id} for the customer.` }] })));
  const answers = (ids: string[]) => stack.until(`responses to ${ids.join(", ")}`, async () => (ids.every((id) => responses.has(`${stack.run}-${id}`)) ? ids.map((id) => responses.get(`${stack.run}-${id}`)!) : undefined));

  beforeAll(async () => {
    stack.onClose(() => switches.close());
    stack.onClose(() => routes.close());
    const config = loadRouterConfig(
      stack.config("router", {
        ROUTER_POLICY_FILE: routerPolicy, ROUTER_REDIS_PREFIX: prefix, ROUTER_DISTILL_SWITCH_KEY: switchKey, ROUTER_DISTILL_REFRESH_MS: "200",
        ROUTER_FALLBACK_REFRESH_MS: "200", ROUTER_SHADOW_METRICS_PORT: "0",
      }),
    );
    await stack.startAtEnd("router", [topics.uncached]);
    await stack.startAtEnd("router-shadow", [topics.responses]);
    responses = await stack.listen<LlmResponse>(topics.responses);
    await Promise.all([stack.startExecutor(topics.routed, [topics.responses, topics.costRecords]), startRouter(config, { logger: silentLogger }).then((r) => stack.track(r))]);
  });
  afterAll(() => stack.close());

  it("refuses to switch before the candidate meets the readiness bar", async () => {
    await expect(costwise("switch", "--use-case", USE_CASE, "--tenant", tenant)).rejects.toThrow(`${tenant}/${USE_CASE} is not ready for gpt-4.1-nano: no shadow comparisons yet (run costwise distill evaluate)`);
    expect(await switches.all()).toEqual(new Map());
  });

  it("switches a ready use case: the router sends it to the distilled model, then falls back to the frontier when live agreement drops", async () => {
    // 24 agreeing shadow comparisons: Wilson 95% lower bound 0.862 ≥ the 0.85 bar.
    const now = Date.now();
    const rows = Array.from({ length: 24 }, (_, i) => ({
      request_id: `${stack.run}-seed-${i}`, tenant, use_case: USE_CASE, ts: chDateTime(now), judged_at: chDateTime(now), frontier_model: "gpt-4o", candidate_model: "gpt-4.1-nano",
      scorer: "exact", agreement: 1, agreed: 1, decided: 1, judge_error: "", frontier_answer_chars: 10, candidate_answer_chars: 10, frontier_input_tokens: 30, frontier_output_tokens: 5,
      frontier_cost_nanousd: 125_000, candidate_input_tokens: 30, candidate_output_tokens: 5, candidate_cost_nanousd: 5_000, judge_cost_nanousd: 0, candidate_latency_ms: 100, price_catalog_version: catalog.version, version: now,
    }));
    await stack.ch.insert({ table: `${stack.database}.distill_shadow`, values: rows, format: "JSONEachRow" });
    expect(await costwise("switch", "--use-case", USE_CASE, "--tenant", tenant, "--since", "1h")).toMatch(/^switched on: .* → gpt-4\.1-nano at 100% of its traffic \(step 1 of 1; evidence: agreement 100\.0%, 95% lower bound 86\.2%, 24 comparisons\)/);
    expect((await switches.all()).get(JSON.stringify([tenant, USE_CASE]))).toMatchObject({ model: "gpt-4.1-nano", samples: 24 });
    await new Promise((r) => setTimeout(r, 600)); // the router re-reads switches every 200 ms

    await send(["a1", "a2", "a3", "a4"]);
    const first = await answers(["a1", "a2", "a3", "a4"]);
    expect(first.map((r) => [r.status, r.model])).toEqual(Array(4).fill(["OK", "gpt-4.1-nano"]));

    // The router's shadow consumer compares each distilled answer with gpt-4o's: 4 disagreements ≥ minSamples → fallback.
    const fb = await stack.until("the distilled route to enter fallback", async () => (await routes.fallbacks()).get(JSON.stringify([USE_CASE, DISTILLED_TIER])));
    expect(fb).toMatchObject({ agreement: 0, floor: 0.8 });
    expect(fb.samples).toBeGreaterThanOrEqual(4);
    await new Promise((r) => setTimeout(r, 600));

    await send(["b1", "b2"]);
    const later = await answers(["b1", "b2"]);
    expect(later.map((r) => r.model)).toEqual(["gpt-4o", "gpt-4o"]);

    const [event] = await stack.query<{ transition: string; tier: string }>(`SELECT transition, tier FROM ${stack.database}.route_fallback_events WHERE use_case = ${sqlLiteral(USE_CASE)} AND request_id LIKE ${sqlLiteral(`${stack.run}-%`)}`);
    expect(event).toEqual({ transition: "enter", tier: DISTILLED_TIER });
    const [status] = JSON.parse(await costwise("status", "--tenant", tenant, "--since", "1h", "--format", "json")) as UseCaseStatus[];
    expect(status).toMatchObject({ tenant, useCase: USE_CASE, switchState: "fallback", switchedModel: "gpt-4.1-nano" });

    expect(await costwise("switch", "--use-case", USE_CASE, "--tenant", tenant, "--off")).toBe(`switched off: ${tenant}/${USE_CASE} goes back to its usual routing\n`);
    expect(await switches.all()).toEqual(new Map());
  });
});
