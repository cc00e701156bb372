import { createClient } from "@clickhouse/client";
import { afterAll, describe, expect, it } from "vitest";
import { loadStackConfig } from "../config.ts";
import { sql } from "./sql.ts";

const config = loadStackConfig();
const client = createClient({ url: config.clickhouse.url, username: config.clickhouse.username, password: config.clickhouse.password });
afterAll(() => client.close());

async function one<T>(query: string): Promise<T> {
  const rows = await (await client.query({ query, format: "JSONEachRow" })).json<{ v: T }>();
  return rows[0]!.v;
}

const NASTY = [
  "",
  "plain",
  "it's",
  "back\\slash",
  "\\'",
  "trailing backslash\\",
  "' OR 1=1 --",
  "'; DROP DATABASE costwise; --",
  "line\nbreak\r\nand\ttab",
  "nul\0byte",
  "\x01\x02\x1b[31m\x7f",
  "/* comment */ -- dash",
  "héllo wörld — 中文 — 😀👍🏽",
  "\u2028\u2029\ufeff",
  "{name:String}",
  "`backquote`",
  "\"double\"",
  "%s %d ${x}",
];

describe("sqlLiteral against the real ClickHouse", () => {
  it.each(NASTY.map((s) => [JSON.stringify(s), s]))("round-trips %s", async (_label, s) => {
    expect(await one<string>(sql`SELECT ${s} AS v`)).toBe(s);
  });

  it("round-trips numbers, bigints, booleans, dates, arrays and null", async () => {
    expect(await one<number>(sql`SELECT ${-42} AS v`)).toBe(-42);
    expect(await one<number>(sql`SELECT ${1.25} AS v`)).toBe(1.25);
    expect(await one<number>(sql`SELECT 1-${-1} AS v`)).toBe(2);
    expect(await one<string>(sql`SELECT toString(${-9223372036854775808n}) AS v`)).toBe("-9223372036854775808");
    expect(await one<string>(sql`SELECT toString(${18446744073709551615n}) AS v`)).toBe("18446744073709551615");
    expect(await one<number>(sql`SELECT ${true} AS v`)).toBe(1);
    expect(await one<string>(sql`SELECT toString(${new Date("2024-02-29T23:59:58.700Z")}, 'UTC') AS v`)).toBe("2024-02-29 23:59:58");
    expect(await one<string[]>(sql`SELECT ${["a'b", "c\\d", "\n"]} AS v`)).toEqual(["a'b", "c\\d", "\n"]);
    expect(await one<number>(sql`SELECT isNull(${null}) AS v`)).toBe(1);
  });

  it("matches a stored value exactly in a WHERE clause", async () => {
    const needle = "tenant' OR '1'='1";
    const rows = await (
      await client.query({ query: sql`SELECT x FROM (SELECT arrayJoin(${[needle, "other"]}) AS x) WHERE x = ${needle}`, format: "JSONEachRow" })
    ).json<{ x: string }>();
    expect(rows).toEqual([{ x: needle }]);
  });
});
