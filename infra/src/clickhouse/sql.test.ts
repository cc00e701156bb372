import { describe, expect, it } from "vitest";
import { sql, sqlIdentifier, sqlLiteral, SqlEncodingError } from "./sql.ts";

describe("sqlLiteral", () => {
  it("quotes strings and escapes quote and backslash the ClickHouse way", () => {
    expect(sqlLiteral("plain")).toBe("'plain'");
    expect(sqlLiteral("it's")).toBe("'it\\'s'");
    expect(sqlLiteral("a\\b")).toBe("'a\\\\b'");
    expect(sqlLiteral("\\'")).toBe("'\\\\\\''");
    expect(sqlLiteral("")).toBe("''");
  });

  it("escapes control characters so no raw NUL or line break reaches the query", () => {
    expect(sqlLiteral("a\nb\r\tc")).toBe("'a\\nb\\r\\tc'");
    expect(sqlLiteral("nul\0end")).toBe("'nul\\0end'");
    expect(sqlLiteral("\x01\x1f\x7f\b\f")).toBe("'\\x01\\x1f\\x7f\\b\\f'");
    expect(/[\u0000-\u001f]/.test(sqlLiteral("x\0\n\r\t\x1b"))).toBe(false);
  });

  it("keeps unicode as is and refuses lone surrogates", () => {
    expect(sqlLiteral("héllo 😀 中文")).toBe("'héllo 😀 中文'");
    expect(() => sqlLiteral("bad \ud800 pair")).toThrow(SqlEncodingError);
    expect(() => sqlLiteral("\udc00")).toThrow(SqlEncodingError);
  });

  it("cannot be broken out of by injection attempts", () => {
    const attacks = ["' OR 1=1 --", "\\' OR 1=1 --", "'; DROP TABLE costwise.llm_calls; --", "x\\", "\\\\'", "'\n--"];
    for (const a of attacks) {
      const lit = sqlLiteral(a);
      // The literal is one quoted token: strip escapes, and no bare quote may remain inside.
      const inner = lit.slice(1, -1).replace(/\\./g, "");
      expect(lit.startsWith("'") && lit.endsWith("'")).toBe(true);
      expect(inner.includes("'")).toBe(false);
      expect(inner.includes("\\")).toBe(false);
    }
  });

  it("encodes numbers, bigints and booleans; negatives are parenthesised", () => {
    expect(sqlLiteral(42)).toBe("42");
    expect(sqlLiteral(1.5)).toBe("1.5");
    expect(sqlLiteral(-3)).toBe("(-3)");
    expect(sqlLiteral(-0)).toBe("0");
    expect(sqlLiteral(1e21)).toBe("1e+21");
    expect(sqlLiteral(12345678901234567890n)).toBe("12345678901234567890");
    expect(sqlLiteral(-9223372036854775808n)).toBe("(-9223372036854775808)");
    expect(sqlLiteral(true)).toBe("1");
    expect(sqlLiteral(false)).toBe("0");
  });

  it("rejects non-finite numbers", () => {
    for (const n of [Number.NaN, Infinity, -Infinity]) expect(() => sqlLiteral(n)).toThrow(SqlEncodingError);
  });

  it("encodes a Date as a UTC DateTime to the second", () => {
    expect(sqlLiteral(new Date("2024-02-29T23:59:58.999Z"))).toBe("toDateTime('2024-02-29 23:59:58', 'UTC')");
    expect(() => sqlLiteral(new Date("nope"))).toThrow(SqlEncodingError);
    expect(() => sqlLiteral(new Date("1969-12-31T23:59:59Z"))).toThrow(SqlEncodingError);
    expect(() => sqlLiteral(new Date("2200-01-01T00:00:00Z"))).toThrow(SqlEncodingError);
  });

  it("encodes null and (nested) arrays", () => {
    expect(sqlLiteral(null)).toBe("NULL");
    expect(sqlLiteral([])).toBe("[]");
    expect(sqlLiteral(["a'", "b"])).toBe("['a\\'', 'b']");
    expect(sqlLiteral([[1, -2], [3]])).toBe("[[1, (-2)], [3]]");
  });

  it("refuses values it has no encoding for", () => {
    expect(() => sqlLiteral(undefined as never)).toThrow(SqlEncodingError);
    expect(() => sqlLiteral({ a: 1 } as never)).toThrow(SqlEncodingError);
    expect(() => sqlLiteral(Symbol("s") as never)).toThrow(SqlEncodingError);
  });
});

describe("sqlIdentifier", () => {
  it("backquotes plain and qualified names", () => {
    expect(sqlIdentifier("llm_calls").text).toBe("`llm_calls`");
    expect(sqlIdentifier("costwise.llm_calls").text).toBe("`costwise`.`llm_calls`");
  });

  it("rejects anything that is not a plain name", () => {
    for (const bad of ["", "a.b.c", "1abc", "a-b", "a b", "a`b", "x`; DROP TABLE t; --", "tab\0le", "é"]) {
      expect(() => sqlIdentifier(bad)).toThrow(SqlEncodingError);
    }
  });
});

describe("sql tag", () => {
  it("encodes every interpolation and embeds identifiers", () => {
    const tenant = "acme' OR '1'='1";
    const q = sql`SELECT count() FROM ${sqlIdentifier("costwise.llm_calls")} WHERE tenant = ${tenant} AND ts >= ${new Date(
      "2024-01-01T00:00:00Z",
    )} AND has(${["a", "b"]}, use_case) LIMIT ${10}`;
    expect(q).toBe(
      "SELECT count() FROM `costwise`.`llm_calls` WHERE tenant = 'acme\\' OR \\'1\\'=\\'1' AND ts >= toDateTime('2024-01-01 00:00:00', 'UTC') AND has(['a', 'b'], use_case) LIMIT 10",
    );
  });

  it("cannot form a comment from a negative number after a minus", () => {
    expect(sql`SELECT 1-${-1}`).toBe("SELECT 1-(-1)");
  });

  it("quotes a string that looks like SQL instead of running it", () => {
    expect(sql`SELECT ${"1; DROP DATABASE costwise"}`).toBe("SELECT '1; DROP DATABASE costwise'");
  });
});
