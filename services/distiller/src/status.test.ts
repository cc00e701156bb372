import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { memoryDistillSwitchStore, type DistilledSwitch } from "@costwise/route-state";
import { buildStatus, perMonth, projectSaving, readiness, type DistillData } from "./status.ts";
import { switchOff, switchOn } from "./switch.ts";
import { triagePolicy } from "./testing/fixtures.ts";

const DAY = 86_400;

describe("projected saving", () => {
  it("prices the window's model traffic now and on the candidate, scaled to 30 days", () => {
    const candidate = triagePolicy().useCases.get("triage")!.candidate!; // gpt-4.1-nano $0.10 / $0.40
    // One day of gpt-4o traffic: 1,000 calls, 1M input tokens, 100k output tokens.
    const p = projectSaving([{ tenant: "acme", use_case: "triage", model_used: "gpt-4o", served_by: "REALTIME", calls_n: "1000", input_sum: "1000000", cached_input_sum: "0", output_sum: "100000" }], candidate, 1, DAY, catalog);
    // gpt-4o: $2.50 + $1.00 = $3.50 a day; nano: $0.10 + $0.04 = $0.14 a day.
    expect(p).toEqual({ monthlyCalls: 30_000, monthlyCostNanoUsd: 105_000_000_000, monthlyCandidateCostNanoUsd: 4_200_000_000, monthlySavingNanoUsd: 100_800_000_000, outputRatio: 1, unpriced: [] });
    const shorter = projectSaving([{ tenant: "acme", use_case: "triage", model_used: "gpt-4o", served_by: "BATCH", calls_n: "1000", input_sum: "1000000", cached_input_sum: "0", output_sum: "100000" }], candidate, 0.5, DAY, catalog);
    expect(shorter.monthlyCandidateCostNanoUsd).toBe(1_800_000_000); // batch: half of ($0.10 + $0.02) × 30
  });

  it("prices a fine-tuned candidate at OpenAI's fine-tuned rates and reports unpriced models", () => {
    const ft = triagePolicy({ candidate: "ft:gpt-4o-mini-2024-07-18:acme::x1" }).useCases.get("triage")!.candidate!;
    const p = projectSaving([
      { tenant: "acme", use_case: "triage", model_used: "gpt-4o", served_by: "REALTIME", calls_n: "10", input_sum: "1000000", cached_input_sum: "0", output_sum: "0" },
      { tenant: "acme", use_case: "triage", model_used: "mystery-model", served_by: "REALTIME", calls_n: "5", input_sum: "1", cached_input_sum: "0", output_sum: "1" },
    ], ft, 1, 30 * DAY, catalog);
    expect(p.monthlyCandidateCostNanoUsd).toBe(300_000_000); // $0.30 per 1M input on a fine-tuned gpt-4o-mini
    expect(p.unpriced).toEqual(["mystery-model"]);
    expect(perMonth(7n, 2 * 30 * DAY)).toBe(4n); // 3.5 rounds half up
  });
});

describe("readiness and status", () => {
  const policy = triagePolicy({ readiness: { minSamples: 50, minAgreementLower: 0.85 } });

  it("needs both the sample count and the Wilson lower bound", () => {
    expect(readiness(40, 40, policy.useCases.get("triage")!.readiness)).toMatchObject({ ready: false, reason: "40 of 50 decided shadow comparisons" });
    expect(readiness(50, 45, policy.useCases.get("triage")!.readiness)).toMatchObject({ ready: false, reason: "agreement lower bound 0.786 < 0.85" });
    expect(readiness(100, 97, policy.useCases.get("triage")!.readiness)).toMatchObject({ ready: true, interval: { lower: expect.closeTo(0.9155, 4) } });
  });

  it("waits for the comparisons a bar needs even when every one agrees, instead of calling perfect evidence low quality", () => {
    const bar = { minSamples: 3, minAgreementLower: 0.55 };
    expect(readiness(4, 4, bar)).toMatchObject({ ready: false, reason: "4 of 5 decided shadow comparisons (a lower bound of 0.55 needs 5 even if all agree)" });
    expect(readiness(5, 5, bar)).toMatchObject({ ready: true });
  });

  const data: DistillData = {
    samples: [{ tenant: "acme", use_case: "triage", samples_n: "120", unique_prompts_n: "100" }],
    shadow: [{ tenant: "acme", use_case: "triage", comparisons_n: "101", decided_n: "100", agreed_n: "97", frontier_output_sum: "400", candidate_output_sum: "300", shadow_cost_sum: "5000" }],
    volumes: [{ tenant: "acme", use_case: "triage", model_used: "gpt-4o", served_by: "REALTIME", calls_n: "200", input_sum: "20000", cached_input_sum: "0", output_sum: "400" }],
  };

  it("reports samples, agreement with its interval, the projection and the switch state per tenant and use case", () => {
    const sw: DistilledSwitch = { tenant: "acme", useCase: "triage", model: "gpt-4.1-nano", since: 1, agreement: 0.97, lower: 0.91, samples: 100 };
    const switches = new Map([[JSON.stringify(["acme", "triage"]), sw]]);
    const [s] = buildStatus(data, policy, { windowSeconds: DAY, catalog, switches, fallbacks: new Map() });
    expect(s).toMatchObject({ tenant: "acme", useCase: "triage", candidate: "gpt-4.1-nano", samples: 120, uniquePrompts: 100, decided: 100, agreed: 97, agreement: 0.97, ready: true, switchState: "on", switchedModel: "gpt-4.1-nano" });
    expect(s!.projection).toMatchObject({ monthlyCalls: 6000, outputRatio: 0.75 });
    const fb = new Map([[JSON.stringify(["triage", "distilled"]), { since: 2, agreement: 0.7, samples: 60, floor: 0.8 }]]);
    expect(buildStatus(data, policy, { windowSeconds: DAY, catalog, switches, fallbacks: fb })[0]!.switchState).toBe("fallback");
    expect(buildStatus(data, policy, { windowSeconds: DAY, catalog, switches: new Map(), fallbacks: new Map(), tenant: "globex" })).toEqual([]);
  });

  it("switches on only when enabled, routed by the router and ready; switches off", async () => {
    const [ready] = buildStatus(data, policy, { windowSeconds: DAY, catalog, switches: new Map(), fallbacks: new Map() });
    const store = memoryDistillSwitchStore();
    const deps = { policy, switches: store, routerUseCases: new Set(["triage"]), now: () => 42 };
    await expect(switchOn({ ...ready!, ready: false, reason: "12 of 50 decided shadow comparisons" }, "acme", "triage", deps)).rejects.toThrow("acme/triage is not ready for gpt-4.1-nano: 12 of 50 decided shadow comparisons");
    await expect(switchOn(ready, "acme", "triage", { ...deps, routerUseCases: new Set() })).rejects.toThrow(/has no routing policy/);
    const off = triagePolicy({ enabled: false });
    await expect(switchOn(ready, "acme", "triage", { ...deps, policy: off })).rejects.toThrow(/is not enabled for the switch/);
    expect(await switchOn(ready, "acme", "triage", deps)).toEqual({ sw: { tenant: "acme", useCase: "triage", model: "gpt-4.1-nano", since: 42, share: 10, agreement: 0.97, lower: expect.closeTo(0.9155, 4), samples: 100 }, step: 1, steps: 3 });
    expect([...(await store.all()).keys()]).toEqual([JSON.stringify(["acme", "triage"])]);
    expect(await switchOff("acme", "triage", deps)).toBe(true);
    expect((await store.all()).size).toBe(0);
  });

  it("ramps 10 → 50 → 100% only on live evidence that meets the bar, and never while in fallback", async () => {
    const [ready] = buildStatus(data, policy, { windowSeconds: DAY, catalog, switches: new Map(), fallbacks: new Map() });
    const store = memoryDistillSwitchStore();
    const deps = { policy, switches: store, routerUseCases: new Set(["triage"]), now: () => 1_000 };
    const first = (await switchOn(ready, "acme", "triage", deps)).sw;
    const min = policy.useCases.get("triage")!.ramp.minLiveSamples;
    await expect(switchOn(ready, "acme", "triage", deps, { current: first, live: { decided: min - 1, agreed: min - 1 }, fallback: null })).rejects.toThrow(`acme/triage at 10%: ${min - 1} of ${min} live shadow comparisons since the step began; not ramping yet`);
    await expect(switchOn(ready, "acme", "triage", deps, { current: first, live: { decided: min, agreed: Math.floor(min / 2) }, fallback: null })).rejects.toThrow(/live agreement lower bound 0\.\d+ < 0\.85 over 50 comparisons; not ramping/);
    await expect(switchOn(ready, "acme", "triage", deps, { current: first, live: { decided: min, agreed: min }, fallback: { since: 1, agreement: 0.4, samples: 20, floor: 0.8 } })).rejects.toThrow(/is in automatic fallback \(live agreement 0\.400 < floor 0\.8/);
    const second = await switchOn(ready, "acme", "triage", deps, { current: first, live: { decided: min, agreed: min }, fallback: null });
    expect([second.sw.share, second.step]).toEqual([50, 2]);
    const third = await switchOn(ready, "acme", "triage", deps, { current: second.sw, live: { decided: min, agreed: min }, fallback: null });
    expect([third.sw.share, third.step]).toEqual([100, 3]);
    await expect(switchOn(ready, "acme", "triage", deps, { current: third.sw, live: { decided: min, agreed: min }, fallback: null })).rejects.toThrow("acme/triage already sends 100% to gpt-4.1-nano");
    // A step minimum below what the bar can ever be met with waits for more evidence.
    const few = triagePolicy({ readiness: { minSamples: 50, minAgreementLower: 0.85 }, ramp: { minLiveSamples: 3 } });
    await expect(switchOn(ready, "acme", "triage", { ...deps, policy: few }, { current: first, live: { decided: 21, agreed: 21 }, fallback: null })).rejects.toThrow("acme/triage at 10%: 21 of 22 live shadow comparisons since the step began; not ramping yet");
    expect((await switchOn(ready, "acme", "triage", { ...deps, policy: few }, { current: first, live: { decided: 22, agreed: 22 }, fallback: null })).sw.share).toBe(50);
    // A switch to another model starts the ramp again.
    expect((await switchOn(ready, "acme", "triage", deps, { current: { ...third.sw, model: "gpt-4o-mini" }, live: null, fallback: null })).sw.share).toBe(10);
  });
});
