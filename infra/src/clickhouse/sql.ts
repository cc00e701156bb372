/**
 * The one literal encoder for ClickHouse SQL. Every user-supplied value that ends up in a query
 * goes through here: ClickHouse 18.16 (our oldest supported server) has no server-side query
 * parameters, so values are inlined as literals and the encoding must be airtight.
 */

export type SqlScalar = string | number | bigint | boolean | Date | null;
export type SqlValue = SqlScalar | readonly SqlValue[];

export class SqlEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A validated, backquoted identifier; the `sql` tag embeds it as-is instead of quoting it as a string. */
export class SqlIdentifier {
  readonly text: string;
  /** @internal use sqlIdentifier() */
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

const IDENTIFIER_PART = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `db.table`, `table` or `column` → backquoted parts. Only plain ASCII names are accepted. */
export function sqlIdentifier(name: string): SqlIdentifier {
  const parts = name.split(".");
  if (parts.length > 2 || !parts.every((p) => p.length <= 128 && IDENTIFIER_PART.test(p))) {
    throw new SqlEncodingError(`invalid SQL identifier ${JSON.stringify(name)}: use [A-Za-z_][A-Za-z0-9_]*, optionally db.name`);
  }
  return new SqlIdentifier(parts.map((p) => `\`${p}\``).join("."));
}

// ClickHouse string literals understand C-style escapes and \xHH (checked on 18.16 and current
// releases). Quote and backslash must be escaped; control characters are escaped too so a query
// never carries a raw NUL or line break that a log line or proxy could cut.
const NAMED_ESCAPES: Record<string, string> = {
  "\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0", "\b": "\\b", "\f": "\\f",
};
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const NEEDS_ESCAPE = /[\\'\u0000-\u001f\u007f]/g;

function encodeString(s: string): string {
  if (LONE_SURROGATE.test(s)) throw new SqlEncodingError("string contains a lone UTF-16 surrogate; it has no UTF-8 encoding");
  const body = s.replace(NEEDS_ESCAPE, (c) => NAMED_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return `'${body}'`;
}

// Negative numbers are parenthesised so that `a-${-1}` cannot become `a--1`, the start of a comment.
function encodeNumeric(text: string, negative: boolean): string {
  return negative ? `(${text})` : text;
}

const MAX_DATETIME_MS = 4294967295 * 1000; // DateTime is a UInt32 of seconds

function encodeDate(d: Date): string {
  const ms = d.getTime();
  if (Number.isNaN(ms)) throw new SqlEncodingError("invalid Date");
  if (ms < 0 || ms > MAX_DATETIME_MS) throw new SqlEncodingError(`Date ${d.toISOString()} is outside the DateTime range 1970..2106`);
  // Whole seconds, UTC, with the time zone named so the server's own zone cannot shift it.
  return `toDateTime('${d.toISOString().slice(0, 19).replace("T", " ")}', 'UTC')`;
}

/** Encode one value as a ClickHouse SQL literal. */
export function sqlLiteral(v: SqlValue): string {
  if (v === null) return "NULL";
  switch (typeof v) {
    case "string":
      return encodeString(v);
    case "number":
      if (!Number.isFinite(v)) throw new SqlEncodingError(`cannot encode non-finite number ${v}`);
      return encodeNumeric(String(Math.abs(v) === 0 ? 0 : v), v < 0);
    case "bigint":
      return encodeNumeric(v.toString(), v < 0n);
    case "boolean":
      return v ? "1" : "0";
    case "object":
      if (v instanceof Date) return encodeDate(v);
      if (Array.isArray(v)) return `[${v.map((x) => sqlLiteral(x as SqlValue)).join(", ")}]`;
      break;
    default:
      break;
  }
  throw new SqlEncodingError(`cannot encode a value of type ${v === undefined ? "undefined" : typeof v} as SQL`);
}

/**
 * Tagged template: every interpolation is encoded with sqlLiteral, except identifiers made by
 * sqlIdentifier(). `sql\`SELECT count() FROM ${sqlIdentifier("costwise.llm_calls")} WHERE tenant = ${t}\``
 */
export function sql(strings: TemplateStringsArray, ...values: ReadonlyArray<SqlValue | SqlIdentifier>): string {
  let out = strings[0] ?? "";
  values.forEach((v, i) => {
    out += (v instanceof SqlIdentifier ? v.text : sqlLiteral(v)) + (strings[i + 1] ?? "");
  });
  return out;
}
