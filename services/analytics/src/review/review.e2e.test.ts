import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { clickhouseWriter, outcomeRow } from "@costwise/clickhouse-writer";
import type { CostRecord, LlmOutcome } from "@costwise/schemas";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../cli/program.ts";
import { clickhouseQuery } from "../queries.ts";
import { insertRecords, knownRecords } from "../testing/known-workload.ts";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const DB = process.env.CLICKHOUSE_DATABASE ?? "costwise";
const tenant = `review-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const now = new Date();
const quarterOf = (d: Date) => `${d.getUTCFullYear()}Q${Math.floor(d.getUTCMonth() / 3) + 1}`;
const quarter = quarterOf(now);
const quarterStart = Date.UTC(now.getUTCFullYear(), Math.floor(now.getUTCMonth() / 3) * 3, 1);
const WEEK = 7 * 86_400_000;
// The known workload once a week for six weeks (the weeks before the quarter fall out of it).
const records: CostRecord[] = Array.from({ length: 6 }, (_, k) => knownRecords(tenant, now.getTime() - k * WEEK, `${tenant}-w${k}`)).flat();
const inQuarter = records.filter((r) => r.ts >= quarterStart);
// Users' outcomes: every third judged call failed.
const outcomes: LlmOutcome[] = records.filter((r) => r.status === "OK").map((r, i) => ({
  request_id: r.request_id, tenant, use_case: r.use_case, success: i % 3 !== 2, score: null, source: "user", created_at: r.ts + 60_000, comment: null,
}));
const weeks = new Set(inQuarter.filter((r) => r.status === "OK").map((r) => {
  const d = new Date(r.ts);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return day - ((new Date(day).getUTCDay() + 6) % 7) * 86_400_000;
}));

let ch: ClickHouseClient;
let dir: string;
let browser: BrowserContext;

beforeAll(async () => {
  ch = createClient({ url: process.env.CLICKHOUSE_URL!, request_timeout: 60_000 });
  await insertRecords(ch, DB, records, 1);
  await clickhouseWriter(ch, DB).insert("llm_outcomes", outcomes.map((o) => outcomeRow(o, 1)));
  dir = await mkdtemp(path.join(tmpdir(), "costwise-review-"));
  browser = await chromium.launchPersistentContext(path.join(dir, "profile"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1200, height: 1000 },
  });
});

afterAll(async () => {
  await browser?.close();
  await ch?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("costwise review --quarter: a self-contained HTML report and its Markdown twin", () => {
  it("writes both, and the page shows its figures and inline charts in a browser with no network", async () => {
    const out = path.join(dir, "report.html");
    const printed: string[] = [];
    const code = await runCli(["review", "--quarter", quarter, "--tenant", tenant, "--out", out], {
      connect: async () => ({ query: clickhouseQuery(ch), close: async () => {} }),
      database: DB, defaultSource: "exact", now: () => now, out: (t) => printed.push(t), err: (t) => printed.push(t),
    });
    expect(code, printed.join("")).toBe(0);
    expect(printed.join("")).toContain(`${out} and ${path.join(dir, "report.md")}`);
    const html = await readFile(out, "utf8");
    // Self-contained: no script, no stylesheet or image fetched from anywhere.
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org)/);

    const requests: string[] = [];
    const page = browser.pages()[0] ?? (await browser.newPage());
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(out).href);
    expect(requests).toEqual([pathToFileURL(out).href]);
    expect(await page.locator("h1").textContent()).toBe(`costwise quarterly review ${quarter}`);
    for (const id of ["structure", "trend", "success", "hit-rates"]) expect(await page.locator(`[data-testid=chart-${id}]`).count(), id).toBe(1);
    // One point per week with outcomes in the quarter, on both lines.
    expect(await page.locator("[data-testid=chart-trend] polyline[data-series=costwise]").getAttribute("points").then((p) => p!.split(" ").length)).toBe(weeks.size);
    const judged = inQuarter.filter((r) => r.status === "OK");
    const ok = judged.filter((r) => outcomes.find((o) => o.request_id === r.request_id)!.success).length;
    expect(await page.locator("[data-testid=kpi-success-rate] .v").textContent()).toBe(`${(Math.round((ok / judged.length) * 1000) / 10).toFixed(1)}% of ${judged.length}`);
    expect(await page.locator("[data-testid=table-outcomes] tbody tr").count()).toBe(new Set(judged.map((r) => r.use_case)).size);
    expect(await page.locator("[data-testid=table-cache] tbody tr").count()).toBeGreaterThan(0);
    expect(await page.locator("[data-testid=table-next] tbody tr").first().textContent()).toContain("top cost driver");
    // Cost per success is below its naive counterpart on this workload, as the page says.
    const [cps, naive] = await Promise.all(["cost-per-success", "naive-per-success"].map(async (k) => Number((await page.locator(`[data-testid=kpi-${k}] .v`).textContent())!.replace(/[$,]/g, ""))));
    expect(cps).toBeGreaterThan(0);
    expect(cps).toBeLessThan(naive!);

    const shot = path.join(REPO, ".costwise", "tmp", "review.png");
    await mkdir(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.UPDATE_SCREENSHOT === "1") await copyFile(shot, path.join(REPO, "docs", "review.png"));

    const md = await readFile(path.join(dir, "report.md"), "utf8");
    expect(md.split("\n")[0]).toBe(`# costwise quarterly review ${quarter}`);
    for (const h of ["## Cost structure", "## Cost per successful outcome per use case", "## Cost per successful outcome per week", "## Cache hit rates", "## Routes and their measured quality", "## Compression per use case"]) expect(md).toContain(h);
  });

  it("refuses a malformed quarter as a usage error", async () => {
    const err: string[] = [];
    const code = await runCli(["review", "--quarter", "2026-Q4"], { connect: async () => { throw new Error("not reached"); }, database: DB, defaultSource: "exact", now: () => now, out: () => {}, err: (t) => err.push(t) });
    expect(code).toBe(2);
    expect(err.join("")).toMatch(/expected YYYYQn/);
  });
});
