/**
 * `npm start`: every pipeline service as its own process against the local stack (started if
 * needed). Logs of all services interleave on stdout as JSON lines with a `service` field.
 * Ctrl-C (or SIGTERM) stops each service cleanly: intake stops, in-flight work finishes, offsets commit.
 */
import { ensureStack } from "../stack/index.ts";
import { loadStackEnv } from "../stack/env-file.ts";
import { pipelineServices, spawnService, stopPipelineService, waitHealthy } from "../services.ts";

async function main(): Promise<void> {
  await ensureStack({ log: (line: string) => console.error(`[stack] ${line}`) });
  const env = loadStackEnv();
  const running = pipelineServices.map((s) => spawnService(s.name, env));
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.error("[start] stopping services…");
    await Promise.all(running.map((s) => stopPipelineService(s)));
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  for (const s of running) {
    void s.exited.then((code) => {
      if (!stopping) {
        console.error(`[start] ${s.name} exited (${String(code)}); stopping the others`);
        void stop(1);
      }
    });
  }
  await Promise.all(running.map((s) => waitHealthy(s)));
  console.error(`[start] running: ${running.map((s) => `${s.name} (${s.metricsUrl}/metrics)`).join(", ")}. Ctrl-C stops.`);
  console.error(`[start] gateway: OpenAI base URL ${env.GATEWAY_URL}/v1, Anthropic base URL ${env.GATEWAY_URL}, keys GATEWAY_DEMO_KEY (tenant demo) and GATEWAY_DEMO_KEY_2 (tenant demo-2) in .costwise/stack.env`);
}

main().catch((err: unknown) => {
  console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
