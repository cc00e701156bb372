import { describe, expect, it } from "vitest";
import { ClickHouseError, type ClickHouseClient } from "@clickhouse/client";
import { TransientError } from "@costwise/stream-runtime";
import { clickhouseWriter, insertIsolating, RowRejectedError, type RowWriter } from "./writer.ts";

const failingClient = (err: Error) => ({ insert: async () => { throw err; } }) as unknown as ClickHouseClient;

describe("clickhouse writer", () => {
  it("tells a row ClickHouse refuses from ClickHouse being unreachable", async () => {
    const refused = clickhouseWriter(failingClient(new ClickHouseError({ message: "Cannot parse input", code: "27" })), "db");
    await expect(refused.insert("t", [{ a: 1 }])).rejects.toBeInstanceOf(RowRejectedError);
    const away = clickhouseWriter(failingClient(new Error("ECONNREFUSED")), "db");
    await expect(away.insert("t", [{ a: 1 }])).rejects.toBeInstanceOf(TransientError);
    const busy = clickhouseWriter(failingClient(new ClickHouseError({ message: "Too many parts", code: "252" })), "db");
    await expect(busy.insert("t", [{ a: 1 }])).rejects.toBeInstanceOf(TransientError);
  });

  it("inserts into database.table as JSONEachRow, and sends nothing for no rows", async () => {
    const calls: unknown[] = [];
    const client = { insert: async (p: unknown) => void calls.push(p) } as unknown as ClickHouseClient;
    await clickhouseWriter(client, "costwise").insert("llm_calls", []);
    await clickhouseWriter(client, "costwise").insert("llm_calls", [{ a: 1 }]);
    expect(calls).toEqual([{ table: "costwise.llm_calls", values: [{ a: 1 }], format: "JSONEachRow" }]);
  });

  it("isolates refused rows by bisection, stores every other row, and lets an outage through", async () => {
    const stored: number[] = [];
    const writer: RowWriter = {
      async insert(_t, rows) {
        const ids = rows.map((r) => (r as { id: number }).id);
        if (ids.includes(3) || ids.includes(6)) throw new RowRejectedError("Cannot parse input");
        stored.push(...ids);
      },
    };
    const rejected = await insertIsolating(writer, "t", [1, 2, 3, 4, 5, 6, 7], (id) => ({ id }));
    expect(rejected.map((r) => r.item)).toEqual([3, 6]);
    expect(rejected[0]!.reason).toMatch(/^ClickHouse rejected the row for t: RowRejectedError: Cannot parse input/);
    expect(stored.sort()).toEqual([1, 2, 4, 5, 7]);
    const down: RowWriter = { insert: async () => { throw new TransientError("down"); } };
    await expect(insertIsolating(down, "t", [1], (id) => ({ id }))).rejects.toBeInstanceOf(TransientError);
  });
});
