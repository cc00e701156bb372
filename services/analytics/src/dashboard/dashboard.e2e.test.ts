import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { migrate, sql, sqlIdentifier } from "@costwise/infra";
import { silentLogger } from "@costwise/stream-runtime";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCallsSql } from "../bench/generate.ts";
import { loadBudgets } from "../budgets.ts";
import { usdDecimal } from "../money.ts";
import { clickhouseQuery } from "../queries.ts";
import { runCli } from "../cli/program.ts";
import { insertRecords, knownRecords } from "../testing/known-workload.ts";
import { startDashboard } from "./service.ts";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
// A database of its own (every migration applied, dropped afterwards): the page's "all tenants"
// lists exactly this test's tenants, and the busy synthetic tenant does not linger in costwise.
const DB = `costwise_e2e_${run}`;
// A small known workload per tenant, and a busier synthetic tenant that makes the screenshot readable.
const small = `dash-a-${run}`;
const other = `dash-b-${run}`;
const busy = `dash-demo-${run}`;

let ch: ClickHouseClient;
let dashboard: Awaited<ReturnType<typeof startDashboard>>;
// The dashboard's clock; a test that compares it with the CLI stops it, since run rates depend on "now".
let frozenAt: Date | null = null;
let browser: BrowserContext;
let page: Page;
let dir: string;

/** The figures the page must show, straight from ClickHouse (deduplicated) for the same window. */
async function truth(tenant: string, useCase?: string) {
  const since = new Date(Math.floor((Date.now() - 24 * 3_600_000) / 3_600_000) * 3_600_000);
  const uc = useCase === undefined ? "" : sql` AND use_case = ${useCase}`;
  const [r] = await (
    await ch.query({
      query: `SELECT count() AS calls, toString(sum(cost_nanousd) + sum(overhead_cost_nanousd)) AS spend, toString(sum(baseline_cost_nanousd)) AS baseline,
          toString(sum(baseline_cost_nanousd) - sum(cost_nanousd) - sum(overhead_cost_nanousd)) AS saved,
          countIf(served_by IN ('CACHE_EXACT', 'CACHE_SEMANTIC')) / count() AS hit_rate
        FROM ${sqlIdentifier(`${DB}.llm_calls`).text} FINAL WHERE ${sql`tenant = ${tenant} AND ts >= ${since}`}${uc}`,
      format: "JSONEachRow",
    })
  ).json<{ calls: string; spend: string; baseline: string; saved: string; hit_rate: number }>();
  return { calls: Number(r!.calls), spend: usdDecimal(BigInt(r!.spend)), baseline: usdDecimal(BigInt(r!.baseline)), saved: usdDecimal(BigInt(r!.saved)), hitRate: r!.hit_rate };
}

const kpi = (id: string) => page.getAttribute(`[data-testid=${id}]`, "data-value");
const loaded = (query: string) => page.waitForSelector(`body[data-loaded-query="${query}"]`, { timeout: 30_000 });

beforeAll(async () => {
  ch = createClient({ url: process.env.CLICKHOUSE_URL!, request_timeout: 60_000 });
  await migrate(ch, { database: DB });
  const now = Date.now();
  await insertRecords(ch, DB, knownRecords(small, now), 1);
  await insertRecords(ch, DB, knownRecords(other, now), 1);
  await ch.command({ query: generateCallsSql({ database: DB, rows: 6_000, end: new Date(now - 60_000), spanSeconds: 23 * 3_600, tenants: [busy], useCases: 6, idPrefix: `${busy}-` }) });

  // Users' outcomes on the busy tenant's calls (about four in five succeed), as the sink lands them.
  await ch.command({
    query: `INSERT INTO ${sqlIdentifier(`${DB}.llm_outcomes`).text} (request_id, tenant, use_case, source, source_rank, success, has_success, score, has_score, created_at, created_ms, comment, version)
      SELECT request_id, tenant, use_case, 'user', 3, toUInt8(cityHash64(request_id) % 5 != 0), 1, 0, 0, ts, toUInt64(ts) * 1000, '', 1
      FROM ${sqlIdentifier(`${DB}.llm_calls`).text} WHERE ${sql`tenant = ${busy}`}`,
  });

  // Two judged shadow comparisons of the small tenant's cheap route (the router's table, migration 0002).
  const ts = new Date(now - 120_000).toISOString().slice(0, 19).replace("T", " ");
  await ch.insert({
    table: `${DB}.route_shadow`,
    format: "JSONEachRow",
    values: [0.75, 0.25].map((agreement, i) => ({ request_id: `${small}-shadow-${i}`, tenant: small, use_case: "support-chat", ts, judged_at: ts, cheap_tier: "small", frontier_tier: "frontier", agreement, agreed: agreement >= 0.5 ? 1 : 0, decided: 1, version: 1 })),
  });

  dir = await mkdtemp(path.join(tmpdir(), "costwise-dash-"));
  const budgetsFile = path.join(dir, "budgets.yaml");
  // The small tenant's budget is a hundredth of a cent: it is over budget, so the page shows an alert line.
  await writeFile(budgetsFile, `budgets:\n  - tenant: ${small}\n    monthly_usd: "0.00001"\n  - tenant: ${busy}\n    monthly_usd: "2000"\n  - tenant: ${busy}\n    use_case: uc-1\n    monthly_usd: "0.01"\n`);
  dashboard = await startDashboard({
    query: clickhouseQuery(ch),
    database: DB,
    defaultSource: "rollup",
    budgets: () => loadBudgets(budgetsFile),
    now: () => frozenAt ?? new Date(),
    refreshMs: 2_000,
    logger: silentLogger,
    host: "127.0.0.1",
    port: 0,
  });
  // Debian's chromium with a fresh profile; nothing is downloaded.
  browser = await chromium.launchPersistentContext(path.join(dir, "profile"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1500, height: 1250 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
});

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
  await ch?.command({ query: `DROP DATABASE IF EXISTS ${sqlIdentifier(DB).text}` });
  await ch?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("dashboard in a real browser", () => {
  it("shows every tenant's traffic, then exactly one tenant's figures after clicking its filter", async () => {
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`${dashboard.url}/?since=24h`);
    await loaded("since=24h");
    expect(await page.locator("[data-testid=filter-tenant] option").allTextContents()).toEqual(["all tenants", busy, small, other].sort((a, b) => (a === "all tenants" ? -1 : b === "all tenants" ? 1 : a.localeCompare(b))));

    await page.selectOption("[data-testid=filter-tenant]", small);
    await loaded(`since=24h&tenant=${small}`);
    const t = await truth(small);
    expect(t.calls).toBe(8); // 9 known calls, one of them 26 hours old

    expect(Number(await kpi("kpi-calls"))).toBe(t.calls);
    expect(await kpi("kpi-spend")).toBe(t.spend);
    expect(await kpi("kpi-baseline")).toBe(t.baseline);
    expect(await kpi("kpi-saved")).toBe(t.saved);
    expect(Number(await kpi("kpi-cache"))).toBeCloseTo(t.hitRate, 6);
    expect(await page.textContent("[data-testid=kpi-calls]")).toBe("8");
    // One row per use case of that tenant only.
    expect(await page.locator("[data-testid=table-use-cases] tbody tr td:first-child").allTextContents()).toEqual([small, small]);
    // Its budget is exceeded: the alert line names it.
    const alerts = await page.locator("[data-testid=alert-line]").allTextContents();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toContain(`Budget exceeded: ${small}:`);
    // Nothing was fetched from outside this machine (Chart.js comes from node_modules).
    expect(requests.every((u) => u.startsWith(dashboard.url))).toBe(true);
    expect(await page.evaluate("typeof window.Chart")).toBe("function");
  });

  it("serves the same report, savings and advice as the CLI prints for the same filters", async () => {
    // One instant for both: a loaded machine can put seconds between the two calls.
    const at = new Date();
    frozenAt = at;
    try {
      for (const command of ["report", "savings", "advise"]) {
        await sameAsCli(command, at);
      }
    } finally {
      frozenAt = null;
    }
  });

  async function sameAsCli(command: string, at: Date) {
    let out = "";
    const code = await runCli([command, "--since", "24h", "--tenant", small, "--format", "json"], {
      connect: async () => ({ query: clickhouseQuery(ch), close: async () => undefined }),
      database: DB,
      defaultSource: "rollup",
      now: () => at,
      out: (t) => (out += t),
      err: () => undefined,
    });
    expect(code).toBe(0);
    const api = (await (await fetch(`${dashboard.url}/api/${command}?since=24h&tenant=${small}`)).json()) as { window: { until?: string } };
    const cli = JSON.parse(out) as { window: { until?: string } };
    delete api.window.until;
    delete cli.window.until;
    expect(api).toEqual(cli);
  }

  it("narrows to a use case and to exact figures on click, matching ClickHouse", async () => {
    await page.selectOption("[data-testid=filter-use-case]", "weekly-digest");
    await loaded(`since=24h&tenant=${small}&use_case=weekly-digest`);
    const t = await truth(small, "weekly-digest");
    expect(Number(await kpi("kpi-calls"))).toBe(3);
    expect(await kpi("kpi-spend")).toBe(t.spend);
    await page.click("[data-testid=filter-exact]");
    await loaded(`since=24h&tenant=${small}&use_case=weekly-digest&source=exact`);
    expect(await kpi("kpi-spend")).toBe(t.spend);
    expect(Number(await kpi("kpi-batch"))).toBeCloseTo(2 / 3, 6);
  });

  it("shows each route's shadow-measured quality next to its traffic", async () => {
    await page.goto(`${dashboard.url}/?since=24h&tenant=${small}`);
    await loaded(`since=24h&tenant=${small}`);
    const row = page.locator("[data-testid=table-routes] tbody tr", { hasText: "gpt-4o-mini" }).filter({ hasText: "small" }).first();
    // Mean agreement of the two judged comparisons: (0.75 + 0.25) / 2, over 2 samples.
    expect(await row.locator("td").nth(6).textContent()).toBe("50.0% (2)");
    expect(await page.textContent("#route-quality-note")).toContain("answers with the frontier model's in shadow");
  });

  it("refreshes by itself: new calls appear without a reload", async () => {
    await page.goto(`${dashboard.url}/?since=24h&tenant=${other}`);
    await loaded(`since=24h&tenant=${other}`);
    expect(Number(await kpi("kpi-calls"))).toBe(8);
    const late = knownRecords(other, Date.now(), `${other}-late`).filter((r) => r.ts > Date.now() - 3_600_000).slice(0, 2);
    await insertRecords(ch, DB, late, 1);
    await page.waitForFunction('document.querySelector("[data-testid=kpi-calls]").getAttribute("data-value") === "10"', undefined, { timeout: 20_000 });
    expect((await truth(other)).calls).toBe(10);
  });

  it("draws the busy tenant's charts (the screenshot in docs/)", async () => {
    await page.goto(`${dashboard.url}/?since=24h&tenant=${busy}`);
    await loaded(`since=24h&tenant=${busy}`);
    const t = await truth(busy);
    expect(Number(await kpi("kpi-calls"))).toBe(t.calls);
    expect(await kpi("kpi-spend")).toBe(t.spend);
    expect(await page.locator("[data-testid=table-use-cases] tbody tr").count()).toBe(6);
    expect(await page.locator("[data-testid=alert-line]").allTextContents()).toEqual([expect.stringContaining(`${busy}/uc-1`)]);
    // Cost per successful outcome per use case and success by technique, from the users' outcomes.
    expect(await page.locator("[data-testid=table-outcomes] tbody tr").count()).toBe(6);
    const [judged] = await (await ch.query({ query: `SELECT count() AS n, sum(succeeded) AS ok FROM ${sqlIdentifier(`${DB}.outcome_calls`).text} WHERE ${sql`tenant = ${busy} AND ts >= ${new Date(Math.floor((Date.now() - 24 * 3_600_000) / 3_600_000) * 3_600_000)}`}`, format: "JSONEachRow" })).json<{ n: string; ok: string }>();
    const cells = await page.locator("[data-testid=table-outcomes] tbody tr td:nth-child(3)").allTextContents();
    expect(cells.reduce((a, c) => a + Number(c.replace(/,/g, "")), 0)).toBe(Number(judged!.n));
    expect(Number(judged!.ok)).toBeGreaterThan(Number(judged!.n) / 2);
    expect(await page.locator("[data-testid=table-techniques] tbody tr").count()).toBeGreaterThan(0);
    const shot = path.join(REPO, ".costwise", "tmp", "dashboard.png");
    await mkdir(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    // The committed screenshot is refreshed on request only, so test runs leave the tree clean.
    if (process.env.UPDATE_SCREENSHOT === "1") await copyFile(shot, path.join(REPO, "docs", "dashboard.png"));
  });
});
