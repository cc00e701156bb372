import { topics } from "@costwise/schemas";
import { Kafka, logLevel } from "kafkajs";

/**
 * A run of its own on a shared cluster (a replay, a benchmark): every topic of the table under
 * COSTWISE_TOPIC_NAMESPACE, so other pipelines neither answer its requests nor feed it theirs.
 * This deletes the namespace's topics afterwards (names read from the table under the current
 * namespace); a failure only leaves them behind and is reported through `log`.
 */
export async function deleteNamespaceTopics(brokers: string, log: (line: string) => void): Promise<void> {
  const kafka = new Kafka({ clientId: "costwise-run-admin", brokers: brokers.split(","), logLevel: logLevel.NOTHING, requestTimeout: 30_000, connectionTimeout: 10_000 });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const mine = Object.values(topics).map((t) => t.name).filter((n) => existing.has(n));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 });
  } catch (err) {
    log(`the run's topics were not deleted: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
