import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import { compilePolicy, type RouterPolicy } from "../policy.ts";
import { shadowsRoute } from "../semantic/live.ts";
import { labelAgreement, shuffledOrder, streamCalibration, type StreamRow } from "./stream-calibration.ts";
import { buildCalibration } from "../semantic/calibration.ts";
import { writeSemanticModel } from "../testing/semantic-model.ts";

/**
 * Traffic harder than the model was calibrated on: the cheap model fails every request scoring
 * above 0.3, while the model file (calibrated where it fails above 0.6) sends only scores ≥ ~0.6
 * to the frontier.
 */
const rows: StreamRow[] = Array.from({ length: 4000 }, (_, i) => {
  const score = (i % 1000) / 1000;
  const weak = score < 0.3 ? 1 : 0;
  return { score, strong: 1, weak, agreed: weak === 1, frontierCost: 100, cheapCost: 5 };
});

function policy(start: "frontier" | "model"): RouterPolicy {
  const ladder = Array.from({ length: 400 }, (_, i) => ({ score: i / 400, strong: 1, weak: i / 400 < 0.6 ? 1 : 0, group: `g${i}` }));
  const file = writeSemanticModel(buildCalibration(ladder));
  return compilePolicy({
    version: 1,
    useCases: { chat: { strategy: "semantic", semantic: { model: file, start }, target: { quality: 0.95 }, shadow: { sampleRate: 0.1 }, tiers: [{ name: "small", models: { openai: "gpt-4o-mini" } }, { name: "frontier", models: "caller" }], defaultModel: "gpt-4o" } },
  }, "p.yaml", "/", { catalog, embeddingModel: "test:emb" });
}

describe("streaming calibration check", () => {
  it("replays through the live re-calibration: it recovers the target the model file's threshold misses, charging every shadow call", async () => {
    const p = policy("frontier");
    const opts = { policy: p, useCase: "chat", seed: 3, sampleRate: 0.1, refreshEvery: 50, shadows: (side: "cheap" | "frontier") => shadowsRoute(p.useCases.get("chat")!, side) };
    const fixed = await streamCalibration(rows, { ...opts, live: false });
    expect(fixed.quality).toBeLessThan(0.8);
    const live = await streamCalibration(rows, { ...opts, live: true });
    expect(live.quality).toBeGreaterThanOrEqual(0.95);
    expect(live.finalThreshold).toBeLessThan(0.35);
    expect(live.thresholdChanges).toBeGreaterThan(0);
    // It saves against always-frontier, and the shadow calls are part of what it costs.
    expect(live.cost).toBeLessThan(0.9);
    expect(live.shadowCost).toBeGreaterThan(0);
    expect(live.samples).toBeGreaterThan(300);
    // The same seed gives the same run.
    expect(await streamCalibration(rows, { ...opts, live: true })).toEqual(live);
  });

  it("orders by seed, and grades shadow samples from the labels", () => {
    expect(shuffledOrder(10, 1)).not.toEqual(shuffledOrder(10, 2));
    expect([...shuffledOrder(10, 1)].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(labelAgreement("binary_correct", 0, 0)).toBe(true);
    expect(labelAgreement("binary_correct", 0, 1)).toBe(false);
    expect(labelAgreement("judge_1_10", 8, 9)).toBe(true);
    expect(labelAgreement("judge_1_10", 9, 7)).toBe(false);
  });
});
