import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

export interface OpsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** /metrics (Prometheus text) and /health (200 when ready, 503 otherwise) for one service. */
export async function startOpsServer(opts: { port: number; registry: Registry; ready: () => boolean; service: string }): Promise<OpsServer> {
  const app: FastifyInstance = Fastify({ logger: false });
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", opts.registry.contentType);
    return opts.registry.metrics();
  });
  app.get("/health", async (_req, reply) => {
    const ok = opts.ready();
    reply.code(ok ? 200 : 503);
    // The pid lets a supervisor tell its own child from another instance already on the port.
    return { service: opts.service, status: ok ? "ok" : "starting", pid: process.pid };
  });
  const url = await app.listen({ port: opts.port, host: "127.0.0.1" });
  return { url, close: () => app.close() };
}
