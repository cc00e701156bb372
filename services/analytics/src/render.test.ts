import { describe, expect, it } from "vitest";
import { csvField, renderCsv, type Column } from "./render.ts";

describe("CSV", () => {
  it("quotes fields with commas, quotes and line breaks (RFC 4180) and writes money as exact USD", () => {
    expect(csvField('a,"b"\nc')).toBe('"a,""b""\nc"');
    expect(csvField(null)).toBe("");
    const cols: Column<{ name: string; cost: bigint; share: number | null }>[] = [
      { key: "name", head: "name", kind: "text", get: (r) => r.name },
      { key: "cost", head: "cost", kind: "money", get: (r) => r.cost },
      { key: "share", head: "share", kind: "ratio", get: (r) => r.share },
    ];
    expect(renderCsv(cols, [{ name: "acme, inc", cost: 4_500_000n, share: 1 / 3 }, { name: "b", cost: -1n, share: null }])).toBe(
      'name,cost_usd,share\r\n"acme, inc",0.004500000,0.333333\r\nb,-0.000000001,\r\n',
    );
  });
});
