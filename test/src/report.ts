import type { ClickHouseClient } from "@clickhouse/client";
import { sql, sqlIdentifier } from "@costwise/infra";
import Table from "cli-table3";

export interface UseCaseCost {
  tenant: string;
  use_case: string;
  requests: string;
  errors: string;
  served: string[];
  models: string[];
  tokens_in: string;
  tokens_out: string;
  spend_nanousd: string;
  baseline_nanousd: string;
}

/** USD text from integer nano-USD, exact (no float on the way). */
export function usd(nano: string | bigint, digits = 4): string {
  const n = BigInt(nano);
  const neg = n < 0n;
  const abs = neg ? -n : n;
  const scale = 10n ** BigInt(9 - digits);
  const rounded = (abs + scale / 2n) / scale;
  const s = rounded.toString().padStart(digits + 1, "0");
  return `${neg ? "-" : ""}$${s.slice(0, -digits)}.${s.slice(-digits)}`;
}

/** Per tenant and use case: traffic, tokens, spend and what the naive calls would have cost. */
export async function useCaseCosts(ch: ClickHouseClient, database: string, requestIdPrefix: string): Promise<UseCaseCost[]> {
  const rs = await ch.query({
    query: sql`SELECT tenant, use_case, toString(count()) AS requests, toString(countIf(status = 'ERROR')) AS errors,
        groupUniqArray(served_by) AS served, groupUniqArray(model_used) AS models,
        toString(sum(input_tokens)) AS tokens_in, toString(sum(output_tokens)) AS tokens_out,
        toString(sum(cost_nanousd)) AS spend_nanousd, toString(sum(baseline_cost_nanousd)) AS baseline_nanousd
      FROM ${sqlIdentifier(database)}.llm_calls FINAL
      WHERE request_id LIKE ${requestIdPrefix + "%"}
      GROUP BY tenant, use_case
      ORDER BY toInt64(spend_nanousd) DESC`,
    format: "JSONEachRow",
  });
  return rs.json<UseCaseCost>();
}

export function renderCostTable(rows: readonly UseCaseCost[]): string {
  const table = new Table({
    head: ["tenant", "use case", "requests", "errors", "served by", "models", "input tok", "output tok", "cost", "naive cost", "saved"],
    colAligns: ["left", "left", "right", "right", "left", "left", "right", "right", "right", "right", "right"],
    style: { head: [], border: [], compact: true },
  });
  let cost = 0n;
  let base = 0n;
  for (const r of rows) {
    const c = BigInt(r.spend_nanousd);
    const b = BigInt(r.baseline_nanousd);
    cost += c;
    base += b;
    table.push([r.tenant, r.use_case, r.requests, r.errors, r.served.sort().join(","), r.models.filter(Boolean).sort().join(","), r.tokens_in, r.tokens_out, usd(c), usd(b), pct(b - c, b)]);
  }
  table.push(["total", "", String(rows.reduce((n, r) => n + Number(r.requests), 0)), "", "", "", "", "", usd(cost), usd(base), pct(base - cost, base)]);
  return table.toString();
}

function pct(part: bigint, whole: bigint): string {
  if (whole === 0n) return "-";
  return `${(Number((part * 10_000n) / whole) / 100).toFixed(1)}%`;
}
