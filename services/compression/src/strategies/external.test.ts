import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "@costwise/stream-runtime";
import { externalSchema } from "../policy.ts";
import { compressExternally, ExternalCompressorError, httpExternalCompressor } from "./external.ts";
import { chunk, meter } from "./test-support.ts";

// A tiny stand-in for an LLMLingua-2 server: this is the adapter's contract test.
type Handler = (body: Record<string, unknown>, res: ServerResponse) => void;
let handler: Handler = () => undefined;
const received: Record<string, unknown>[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let data = "";
    req.on("data", (d: Buffer) => (data += d.toString()));
    req.on("end", () => {
      const body = JSON.parse(data) as Record<string, unknown>;
      received.push(body);
      handler(body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/compress`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
};
// Drop every other word, like a token classifier would.
const lingua: Handler = (body, res) =>
  json(res, 200, { compressed_prompt_list: (body.context as string[]).map((t) => t.split(" ").filter((_, i) => i % 2 === 0).join(" ")), origin_tokens: 10, compressed_tokens: 5 });

const chunks = [chunk("a", "The annual fee of the Gold card is ninety euros per year.", 0.9), chunk("b", "Replacement cards arrive within five working days.", 0.4)];
const params = externalSchema.parse({ name: "external", rate: 0.4 });

async function run(h: Handler, timeoutMs = 1_000) {
  handler = h;
  const fallbacks: string[] = [];
  const out = await compressExternally(params, { compressor: httpExternalCompressor({ url, timeoutMs }), onFallback: (r) => fallbacks.push(r) }, { chunks, question: "Gold card fee?", tokens: meter(), logger: silentLogger });
  return { out, fallbacks };
}

describe("external compressor adapter", () => {
  it("sends the chunks, question, rate and force tokens, and maps the compressed texts back to their ids", async () => {
    received.length = 0;
    const { out, fallbacks } = await run(lingua);
    expect(received[0]).toEqual({ context: chunks.map((c) => c.text), question: "Gold card fee?", rate: 0.4, force_tokens: ["\n", ".", "?", "!"] });
    expect(out).toEqual([chunk("a", "The fee the card ninety per", 0.9), chunk("b", "Replacement arrive five days.", 0.4)]);
    expect(fallbacks).toEqual([]);
  });

  it.each([
    ["a timeout", ((_b, res) => setTimeout(() => lingua(_b, res), 300)) as Handler, "timeout"],
    ["an HTTP error", ((_b, res) => json(res, 503, "overloaded")) as Handler, "http"],
    ["a body without compressed_prompt_list", ((_b, res) => json(res, 200, { compressed_prompt: "x" })) as Handler, "invalid_response"],
    ["a body that is not JSON", ((_b, res) => json(res, 200, "<html>")) as Handler, "invalid_response"],
    ["a list of the wrong length", ((_b, res) => json(res, 200, { compressed_prompt_list: ["x"] })) as Handler, "invalid_response"],
  ])("falls back to the previous strategy's result on %s", async (_name, h, reason) => {
    const { out, fallbacks } = await run(h, 100);
    expect(out).toEqual(chunks);
    expect(fallbacks).toEqual([reason]);
  });

  it("falls back when nothing listens", async () => {
    const compressor = httpExternalCompressor({ url: "http://127.0.0.1:9/compress", timeoutMs: 500 });
    await expect(compressor.compress({ context: ["x"], question: "q", rate: 0.5, forceTokens: [] })).rejects.toBeInstanceOf(ExternalCompressorError);
  });

  it("keeps a chunk's text when its compressed form is empty or not shorter", async () => {
    const { out } = await run((_b, res) => json(res, 200, { compressed_prompt_list: ["", `${chunks[1]!.text} plus extra words`] }));
    expect(out).toEqual(chunks);
  });
});
