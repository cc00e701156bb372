import { createClient } from "@clickhouse/client";
import { topics } from "@costwise/schemas";
import { runMain, startService } from "@costwise/stream-runtime";
import { clickhouseWriter, coalescingWriter } from "@costwise/clickhouse-writer";
import { loadSinkConfig } from "./config.ts";
import { createSinkProcess } from "./process.ts";

runMain("sink", async () => {
  const config = loadSinkConfig();
  const client = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, request_timeout: 30_000 });
  const direct = clickhouseWriter(client, config.CLICKHOUSE_DATABASE);
  const writer = config.SINK_LINGER_MS > 0 ? coalescingWriter(direct, { lingerMs: config.SINK_LINGER_MS, maxRows: config.SINK_MAX_ROWS }) : direct;
  return startService({
    name: "sink",
    input: [topics.responses, topics.costRecords, topics.distillSamples, topics.outcomes],
    outputs: [],
    processBatch: createSinkProcess({ writer, now: Date.now }),
    config,
    resources: [{ name: "clickhouse", close: () => client.close() }],
  });
});
