/**
 * `npm start [-- --replicas executor=3,cache=2] [--only cache,router]`: every pipeline service as its
 * own process group against the local stack (started if needed), supervised: a service that exits or
 * stops answering /health is restarted with exponential backoff (each restart logged and counted).
 * Replicas of a stage share its consumer group, each on its own /metrics and /health port. A start
 * that fails stops whatever it started; Ctrl-C (or SIGTERM) stops every service cleanly (intake stops,
 * in-flight work finishes, offsets commit), a second Ctrl-C kills them at once.
 */
import { parseArgs } from "node:util";
import { ensureStack } from "../stack/index.ts";
import { loadStackEnv } from "../stack/env-file.ts";
import { pipelineServices } from "../services.ts";
import { parseReplicas, pipelineSupervisor, planInstances } from "../supervisor.ts";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { replicas: { type: "string", default: "" }, only: { type: "string" } } });
  const only = values.only?.split(",").map((s) => s.trim()).filter(Boolean);
  const instances = planInstances(pipelineServices, parseReplicas(values.replicas ?? ""), only);
  await ensureStack({ log: (line: string) => console.error(`[stack] ${line}`) });
  const env = { ...loadStackEnv() };
  const supervisor = pipelineSupervisor({ env, instances, log: (line) => console.error(`[start] ${line}`) });

  let signals = 0;
  const stop = async (code: number) => {
    console.error(`[start] stopping ${instances.length} service process(es)…`);
    await supervisor.stop();
    console.error(`[start] stopped (${supervisor.restarts} restart(s) during the run)`);
    process.exit(code);
  };
  const onSignal = () => {
    if (++signals > 1) {
      console.error("[start] second signal: killing every service now");
      supervisor.killAll();
      process.exit(130);
    }
    void stop(0);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Whatever way this process ends, no service outlives it (they also watch this pid).
  process.on("exit", () => supervisor.killAll());

  console.error(`[start] starting ${instances.map((i) => `${i.id} (:${i.port})`).join(", ")}`);
  await supervisor.start();
  console.error(`[start] running: ${instances.map((i) => `${i.id} (http://127.0.0.1:${i.port}/metrics)`).join(", ")}. Ctrl-C stops.`);
}

main().catch((err: unknown) => {
  console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
