import { createClient } from "@clickhouse/client";
import { topics } from "@costwise/schemas";
import { runMain, startService } from "@costwise/stream-runtime";
import { clickhouseWriter } from "@costwise/clickhouse-writer";
import { loadSinkConfig } from "./config.ts";
import { createSinkProcess } from "./process.ts";

runMain("sink", async () => {
  const config = loadSinkConfig();
  const client = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, request_timeout: 30_000 });
  return startService({
    name: "sink",
    input: [topics.responses, topics.costRecords, topics.distillSamples, topics.outcomes],
    outputs: [],
    processBatch: createSinkProcess({ writer: clickhouseWriter(client, config.CLICKHOUSE_DATABASE), now: Date.now }),
    config,
    resources: [{ name: "clickhouse", close: () => client.close() }],
  });
});
