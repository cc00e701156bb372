import Table from "cli-table3";
import { formatPct, formatUsd, usdDecimal, type Nano } from "./money.ts";

export type Format = "table" | "json" | "csv";
export const FORMATS: readonly Format[] = ["table", "json", "csv"];

/**
 * One column of a report. `kind` decides the rendering: money is nano-USD shown as "$1,234.56"
 * in tables and as an exact decimal USD string ("1234.560000000") in JSON and CSV, under the key
 * `<key>_usd`; ratios are shown as percentages in tables and as numbers elsewhere.
 */
export type Column<T> =
  | { key: string; head: string; kind: "text"; get: (r: T) => string }
  | { key: string; head: string; kind: "int"; get: (r: T) => number }
  | { key: string; head: string; kind: "money"; get: (r: T) => Nano }
  | { key: string; head: string; kind: "ratio"; get: (r: T) => number | null }
  | { key: string; head: string; kind: "number"; get: (r: T) => number | null; digits?: number };

export function jsonKey<T>(c: Column<T>): string {
  return c.kind === "money" ? `${c.key}_usd` : c.key;
}

function tableCell<T>(c: Column<T>, r: T): string {
  switch (c.kind) {
    case "text":
      return c.get(r);
    case "int":
      return c.get(r).toLocaleString("en-US");
    case "money":
      // Four decimals: per-request costs are fractions of a cent and demo totals are cents.
      return formatUsd(c.get(r), 4);
    case "ratio":
      return formatPct(c.get(r));
    case "number": {
      const v = c.get(r);
      return v === null ? "-" : v.toFixed(c.digits ?? 2);
    }
  }
}

function plainValue<T>(c: Column<T>, r: T): string | number | null {
  switch (c.kind) {
    case "text":
      return c.get(r);
    case "int":
      return c.get(r);
    case "money":
      return usdDecimal(c.get(r));
    case "ratio":
    case "number": {
      const v = c.get(r);
      return v === null ? null : Number(v.toFixed(6));
    }
  }
}

/** A cli-table3 table; `total` (if given) is rendered as the last row. */
export function renderTable<T>(title: string, columns: readonly Column<T>[], rows: readonly T[], total?: T): string {
  const table = new Table({
    head: columns.map((c) => c.head),
    colAligns: columns.map((c) => (c.kind === "text" ? "left" : "right")),
    style: { head: [], border: [], compact: true },
  });
  for (const r of rows) table.push(columns.map((c) => tableCell(c, r)));
  if (total !== undefined) table.push(columns.map((c) => tableCell(c, total)));
  return `${title}\n${table.toString()}`;
}

export function toJsonRows<T>(columns: readonly Column<T>[], rows: readonly T[]): Record<string, string | number | null>[] {
  return rows.map((r) => Object.fromEntries(columns.map((c) => [jsonKey(c), plainValue(c, r)])));
}

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF line ends. */
export function csvField(v: string | number | null): string {
  if (v === null) return "";
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function renderCsv<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const lines = [columns.map((c) => csvField(jsonKey(c))).join(",")];
  for (const r of rows) lines.push(columns.map((c) => csvField(plainValue(c, r))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/** JSON with bigints as strings (never lossy numbers). */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}
