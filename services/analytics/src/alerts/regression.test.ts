import { describe, expect, it } from "vitest";
import { DEFAULT_OUTCOME_POLICY, memoryBackoffStore, type PathOutcomes } from "@costwise/outcomes";
import type { BudgetAlert } from "@costwise/schemas";
import { silentLogger } from "@costwise/stream-runtime";
import { createRegressionChecker } from "./regression.ts";

const policy = { ...DEFAULT_OUTCOME_POLICY, minSamples: 30, backoffHours: 1 };

describe("quality regression checks", () => {
  it("backs off a regressed cheap route, alerts once, renews without a second alert, and leaves a healthy one alone", async () => {
    let outcomes: PathOutcomes[] = [
      { useCase: "triage", path: "route:nano", successes: 30, trials: 60 },
      { useCase: "triage", path: "route:frontier", successes: 57, trials: 60 },
      { useCase: "support", path: "route:small", successes: 55, trials: 60 },
      { useCase: "support", path: "route:frontier", successes: 56, trials: 60 },
    ];
    const published: BudgetAlert[] = [];
    const recorded: string[] = [];
    let now = new Date("2026-11-20T10:00:00Z");
    const backoffs = memoryBackoffStore();
    const checker = createRegressionChecker({
      outcomes: async () => outcomes, backoffs, policy, now: () => now, logger: silentLogger,
      publish: async (a) => void published.push(...a), record: async (b) => void recorded.push(...b.map((x) => `${x.use_case}/${x.technique}`)),
    });
    const first = await checker.check();
    expect(first.backoffs.map((b) => [b.use_case, b.technique])).toEqual([["triage", "route:nano"]]);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ level: "QUALITY_REGRESSION", tenant: "*", use_case: "triage", threshold: 0.05 });
    expect(published[0]!.message).toMatch(/route nano falls back to the frontier tier/);
    expect((await backoffs.active(now.getTime())).map((b) => b.technique)).toEqual(["route:nano"]);

    now = new Date(now.getTime() + 30 * 60_000);
    const second = await checker.check();
    expect(second.produced).toEqual([]);
    expect(second.backoffs[0]!.since).toBe(first.backoffs[0]!.since);
    expect(recorded).toEqual(["triage/route:nano", "triage/route:nano"]);

    // The evidence recovers: the backoff is not renewed and lifts when it expires.
    outcomes = outcomes.map((o) => (o.path === "route:nano" ? { ...o, successes: 57 } : o));
    now = new Date(now.getTime() + 2 * 3_600_000);
    expect((await checker.check()).backoffs).toEqual([]);
    expect(await backoffs.active(now.getTime())).toEqual([]);
  });
});
