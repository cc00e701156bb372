import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { topics, type BudgetAlert } from "@costwise/schemas";
import { silentLogger, type RunningService } from "@costwise/stream-runtime";
import { KafkaTestClient } from "@costwise/stream-runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { monthOf } from "../budgets.ts";
import { loadAlertsConfig } from "../config.ts";
import { insertRecords, knownRecords } from "../testing/known-workload.ts";
import { startAlerts } from "./service.ts";

const DB = process.env.CLICKHOUSE_DATABASE ?? "costwise";
const tenant = `alerts-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const now = Date.now();
const known = knownRecords(tenant, now);
// One call answered by a model the catalog does not price: zero cost, real tokens, flagged.
const unpricedCall = { ...known[0]!, request_id: `${tenant}-unpriced`, use_case: "new-model", ts: now, completed_at: now, model_used: "gpt-7-turbo", provider: "openai", cost_nanousd: 0, overhead_cost_nanousd: 0, baseline_cost_nanousd: 0, saving_cache_nanousd: 0, saving_routing_nanousd: 0, saving_compression_nanousd: 0, saving_batch_nanousd: 0, input_tokens: 700, output_tokens: 300, unpriced: true };
const records = [...known, unpricedCall];
const month = monthOf(new Date(now));
const received: BudgetAlert[] = [];

let ch: ClickHouseClient;
let client: KafkaTestClient | undefined;
let service: RunningService;
let dir: string;

const waitFor = async (pred: () => boolean, ms: number) => {
  for (const deadline = Date.now() + ms; !pred(); ) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms; received ${JSON.stringify(received.map((a) => a.alert_id))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

beforeAll(async () => {
  ch = createClient({ url: process.env.CLICKHOUSE_URL!, request_timeout: 60_000 });
  await insertRecords(ch, DB, records, 1);

  client = KafkaTestClient.connect({ KAFKA_BROKERS: process.env.KAFKA_BROKERS!, SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL! }, { clientId: "alerts-test" });
  await client.subscribe<BudgetAlert>(topics.alerts, ({ value }) => void (value.tenant === tenant && received.push(value)), { fromBeginning: true, groupId: `alerts-test-${tenant}` });

  dir = await mkdtemp(path.join(tmpdir(), "costwise-alerts-"));
  const budgets = path.join(dir, "budgets.yaml");
  await writeFile(
    budgets,
    [
      "budgets:",
      `  - tenant: ${tenant}`, // a tenth of a cent: already spent
      '    monthly_usd: "0.001"',
      `  - tenant: ${tenant}`,
      "    use_case: weekly-digest", // a million dollars: never near
      '    monthly_usd: "1000000"',
      "",
    ].join("\n"),
  );
  service = await startAlerts(
    loadAlertsConfig({ ...process.env, CLICKHOUSE_DATABASE: DB, BUDGETS_FILE: budgets, ALERTS_INTERVAL_MS: "1000", METRICS_PORT: "0", LOG_LEVEL: "silent" }),
    silentLogger,
  );
});

afterAll(async () => {
  await service?.stop();
  await client?.close();
  await ch?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("budget alerts", () => {
  it("produces one alert per crossing to llm.budget-alerts, with the month's spend from ClickHouse", async () => {
    await waitFor(() => received.length >= 2, 30_000);
    // Several more checks run; the crossing is not produced again.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(received.map((a) => a.alert_id).sort()).toEqual([`${tenant}/${month.label}/exceeded`, `${tenant}/new-model/${month.label}/unpriced/gpt-7-turbo`]);
    const a = received.find((x) => x.level === "EXCEEDED")!;
    const spent = records.filter((r) => r.ts >= month.start.getTime()).reduce((s, r) => s + r.cost_nanousd + r.overhead_cost_nanousd, 0);
    expect(a).toMatchObject({ tenant, use_case: null, month: month.label, level: "EXCEEDED", budget_nanousd: 1_000_000, spent_nanousd: spent, threshold: 1 });
    expect(a.projected_nanousd).toBeGreaterThanOrEqual(spent);
    expect(a.message).toContain(`${tenant}: $`);
    expect(a.message).toContain("over its budget of $0.00");
    const u = received.find((x) => x.level === "UNPRICED")!;
    expect(u).toMatchObject({ tenant, use_case: "new-model", spent_nanousd: 0 });
    expect(u.message).toContain("1 call(s) to gpt-7-turbo (1000 tokens)");
  });

  it("reports healthy and counts its checks on /metrics", async () => {
    expect((await fetch(`${service.opsUrl}/health`)).status).toBe(200);
    const metrics = await (await fetch(`${service.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/costwise_budget_checks_total\{outcome="ok",service="alerts"\} [1-9]/);
    expect(metrics).toMatch(/costwise_budgets_over_threshold\{service="alerts"\} 1/);
  });
});
