import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { alertFor, budgetStatus, DEFAULT_BUDGETS_FILE, loadBudgets, monthOf, parseBudgets, projectMonth } from "./budgets.ts";

const USD = 1_000_000_000n;

describe("budgets file", () => {
  it("the shipped file is valid", async () => {
    const budgets = await loadBudgets(DEFAULT_BUDGETS_FILE);
    expect(budgets.length).toBeGreaterThan(0);
    expect(budgets.find((b) => b.useCase === "support-chat")?.alertAt).toEqual([0.5, 0.9, 1]);
  });

  it("fills defaults and parses amounts exactly", () => {
    expect(parseBudgets({ budgets: [{ tenant: "acme", monthly_usd: "1999.99" }] })).toEqual([{ tenant: "acme", useCase: null, monthly: 1_999_990_000_000n, alertAt: [0.8, 1] }]);
  });

  it("names every bad entry: unknown keys, bad amounts, duplicates", () => {
    const bad = { budgets: [{ tenant: "acme", monthly_usd: "lots" }, { tenant: "acme", use_case: "x", monthly_usd: 5, colour: "red" }, { tenant: "b", monthly_usd: 1 }, { tenant: "b", monthly_usd: 2 }] };
    expect(() => parseBudgets(bad)).toThrow(/budgets\.0\.monthly_usd: invalid USD amount "lots"[\s\S]*budgets\.1: Unrecognized key\(s\) in object: 'colour'[\s\S]*budgets\.3: duplicate budget for b/);
    expect(() => parseBudgets({ alert_at: [] })).toThrow(/alert_at/);
  });

  it("reports a missing or malformed file with its path", async () => {
    await expect(loadBudgets("/nonexistent/budgets.yaml")).rejects.toThrow(/cannot read budgets file \/nonexistent\/budgets.yaml/);
    const dir = await mkdtemp(path.join(tmpdir(), "budgets-"));
    await writeFile(path.join(dir, "b.yaml"), "budgets: [\n");
    await expect(loadBudgets(path.join(dir, "b.yaml"))).rejects.toThrow(/is not valid YAML/);
  });
});

describe("projection and alerts", () => {
  const mid = new Date("2025-06-16T00:00:00Z"); // half of June gone

  it("projects the month linearly, never from less than six hours", () => {
    expect(monthOf(mid)).toEqual({ start: new Date("2025-06-01T00:00:00Z"), end: new Date("2025-07-01T00:00:00Z"), label: "2025-06" });
    expect(projectMonth(100n * USD, mid)).toBe(200n * USD);
    // One hour into the month: divided by six hours, not one.
    expect(projectMonth(6n * USD, new Date("2025-06-01T01:00:00Z"))).toBe(720n * USD);
  });

  it("levels: nothing under the thresholds, PROJECTED over one, EXCEEDED once the spend passes the budget", () => {
    const budgets = parseBudgets({ budgets: [{ tenant: "a", monthly_usd: 1000 }, { tenant: "a", use_case: "chat", monthly_usd: 300, alert_at: [0.5, 0.9] }, { tenant: "b", monthly_usd: 100 }] });
    const spend = [{ tenant: "a", useCase: "chat", spend: 200n * USD }, { tenant: "a", useCase: "mail", spend: 150n * USD }, { tenant: "b", useCase: "x", spend: 120n * USD }];
    const [a, chat, b] = budgetStatus(budgets, spend, mid);
    expect(a).toMatchObject({ spent: 350n * USD, projected: 700n * USD, crossed: null, level: null });
    expect(chat).toMatchObject({ spent: 200n * USD, projected: 400n * USD, crossed: 0.9, level: "PROJECTED" });
    expect(chat!.message).toBe("a/chat: projected $400.00 for 2025-06, 133% of its budget of $300.00 ($200.00 so far)");
    expect(b).toMatchObject({ level: "EXCEEDED", crossed: 1 });
    expect(alertFor(a!, mid)).toBeNull();
    expect(alertFor(chat!, mid)).toMatchObject({ alert_id: "a/chat/2025-06/0.9", tenant: "a", use_case: "chat", threshold: 0.9, level: "PROJECTED", budget_nanousd: 300e9, projected_nanousd: 400e9, created_at: mid.getTime() });
    expect(alertFor(b!, mid)).toMatchObject({ alert_id: "b/2025-06/exceeded", use_case: null, level: "EXCEEDED", threshold: 1 });
  });
});
