import type { BudgetAlert } from "@costwise/schemas";
import { silentLogger } from "@costwise/stream-runtime";
import { describe, expect, it } from "vitest";
import { parseBudgets } from "../budgets.ts";
import { createAlertChecker } from "./checker.ts";

const USD = 1_000_000_000n;

describe("budget checker", () => {
  it("produces each crossing once, a new threshold again, and retries after a failed publish", async () => {
    let spend = 60n * USD;
    let failNext = true;
    const published: BudgetAlert[][] = [];
    const checker = createAlertChecker({
      budgets: async () => parseBudgets({ budgets: [{ tenant: "a", monthly_usd: 100, alert_at: [0.5, 1] }] }),
      spend: async (start, until) => {
        expect(start.toISOString()).toBe("2025-06-01T00:00:00.000Z");
        expect(until.getTime()).toBeGreaterThan(new Date("2025-06-16T00:00:00Z").getTime());
        return [{ tenant: "a", useCase: "chat", spend }];
      },
      publish: async (alerts) => {
        if (failNext) {
          failNext = false;
          throw new Error("kafka down");
        }
        published.push([...alerts]);
      },
      now: () => new Date("2025-06-16T00:00:00Z"),
      logger: silentLogger,
    });
    // $60 at mid-month projects to $120: over both thresholds, the highest (1.0) is reported.
    await expect(checker.check()).rejects.toThrow("kafka down");
    const second = await checker.check();
    expect(second.produced.map((a) => a.alert_id)).toEqual(["a/2025-06/1"]);
    expect((await checker.check()).produced).toEqual([]);
    spend = 101n * USD;
    expect((await checker.check()).produced.map((a) => [a.alert_id, a.level])).toEqual([["a/2025-06/exceeded", "EXCEEDED"]]);
    expect(published.flat().map((a) => a.alert_id)).toEqual(["a/2025-06/1", "a/2025-06/exceeded"]);
  });

  it("alerts once per model served without a catalog price, apart from any budget", async () => {
    const published: BudgetAlert[] = [];
    let calls = 3;
    const checker = createAlertChecker({
      budgets: async () => [],
      spend: async () => [],
      unpriced: async (start) => {
        expect(start.toISOString()).toBe("2025-06-01T00:00:00.000Z");
        return [{ tenant: "a", useCase: "chat", model: "gpt-7-turbo", calls, tokens: 1_234 }];
      },
      publish: async (alerts) => void published.push(...alerts),
      now: () => new Date("2025-06-16T00:00:00Z"),
      logger: silentLogger,
    });
    const first = await checker.check();
    expect(first.produced).toHaveLength(1);
    expect(first.produced[0]).toMatchObject({ alert_id: "a/chat/2025-06/unpriced/gpt-7-turbo", level: "UNPRICED", tenant: "a", use_case: "chat", spent_nanousd: 0 });
    expect(first.produced[0]!.message).toMatch(/3 call\(s\) to gpt-7-turbo \(1234 tokens\)/);
    calls = 9;
    expect((await checker.check()).produced).toEqual([]);
    expect(published).toHaveLength(1);
  });
});

