import type { ClickHouseClient } from "@clickhouse/client";
import { sql, sqlIdentifier } from "@costwise/infra";
import type { ShadowResults } from "./shadow-port.ts";

/** Shadow results from `costwise.route_shadow`, the table the shadow consumer writes (read only). */
export function clickhouseShadowResults(ch: ClickHouseClient, database: string): ShadowResults {
  return {
    async recent(route, limit) {
      const query = sql`SELECT route_score, agreed FROM ${sqlIdentifier(database)}.route_shadow WHERE use_case = ${route.useCase} AND cheap_tier = ${route.tier} AND decided = 1 AND fallback_active = 0 ORDER BY ts DESC LIMIT ${Math.max(1, Math.floor(limit))}`;
      const rs = await ch.query({ query, format: "JSONEachRow" });
      return ((await rs.json()) as { route_score: number; agreed: number }[]).map((r) => ({ score: Number(r.route_score), agreed: Number(r.agreed) === 1 }));
    },
  };
}
