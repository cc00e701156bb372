import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { ensureStack, loadStackEnv } from "@costwise/infra";
import { gatewayKeys, startGatewayPipeline } from "./gateway-harness.ts";
import { runId } from "./harness.ts";

/**
 * The demo's gateway part: the official SDKs, unchanged but for the base URL and key, calling the
 * pipeline through the gateway; prints who served each call.
 */
export async function gatewayDemo(log: (line: string) => void): Promise<void> {
  await ensureStack({ log: () => undefined });
  const env = loadStackEnv();
  const { key, key2, keysFile } = gatewayKeys(env);
  const run = runId("demo-gw");
  log("gateway: starting it in front of cache → router → compression → executor");
  const gw = await startGatewayPipeline({ ...env, GATEWAY_KEYS_FILE: keysFile }, run, { logPrefix: "demo-gw", chain: ["cache", "router", "compression", "executor"] });
  try {
    const oa = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, timeout: 60_000 });
    const question = `(${run}) In one sentence: why does caching cut LLM cost?`;
    const ask = async (client: OpenAI, who: string) => {
      const { data, response } = await client.chat.completions.create({ model: "gpt-4o", temperature: 0, messages: [{ role: "user", content: question }] }).withResponse();
      log(`  ${who.padEnd(34)} served by ${response.headers.get("x-costwise-served-by")?.padEnd(12)} model ${data.model.padEnd(18)} request ${response.headers.get("x-costwise-request-id")}`);
      return response.headers.get("x-costwise-served-by");
    };
    log(`gateway at ${gw.url} (OpenAI base URL ${gw.url}/v1, Anthropic base URL ${gw.url}; keys in .costwise/stack.env)`);
    await ask(oa, "OpenAI SDK, tenant demo");
    let servedBy: string | null = null;
    for (let i = 0; i < 20 && !servedBy?.startsWith("CACHE"); i++) {
      await new Promise((r) => setTimeout(r, 500));
      servedBy = await ask(oa, "same question again, tenant demo");
    }
    await ask(new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key2, timeout: 60_000 }), "same question, tenant demo-2");
    const an = new Anthropic({ baseURL: gw.url, apiKey: key, timeout: 60_000 });
    const stream = an.messages.stream({ model: "claude-sonnet-4-5", max_tokens: 200, messages: [{ role: "user", content: `(${run}) Name two ways to cut LLM cost.` }] });
    let events = 0;
    stream.on("streamEvent", () => void events++);
    const msg = await stream.finalMessage();
    log(`  Anthropic SDK, streamed: ${events} events, answered by ${msg.model}: ${JSON.stringify((msg.content[0] as { text: string }).text.slice(0, 80))}…`);
  } finally {
    await gw.stop();
  }
}
