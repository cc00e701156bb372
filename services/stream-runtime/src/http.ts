import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import { healthStatusCode, livenessStatusCode, type HealthSnapshot } from "./health.ts";

export interface OpsServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * /metrics (Prometheus text), /health (JSON; 200 when ready or degraded, 503 while starting,
 * stopping or failed: the readiness and start-up probe) and /health/live (503 only when failed:
 * the liveness probe, so a slow start or an outage of a dependency does not get the pod killed).
 */
export async function startOpsServer(opts: {
  port: number;
  /** Default 127.0.0.1; 0.0.0.0 where probes come from outside (a pod's kubelet). */
  host?: string;
  registry: Registry;
  service: string;
  /** The full state; or just `ready` for processes without start-up steps (ready → "ready", else "starting"). */
  health?: () => HealthSnapshot;
  ready?: () => boolean;
}): Promise<OpsServer> {
  const app: FastifyInstance = Fastify({ logger: false });
  const snapshot = opts.health ?? ((): HealthSnapshot => ({ status: opts.ready?.() === false ? "starting" : "ready", stepsDone: [], reasons: {}, since: 0 }));
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", opts.registry.contentType);
    return opts.registry.metrics();
  });
  // The pid lets a supervisor tell its own child from another instance already on the port.
  app.get("/health", async (_req, reply) => {
    const h = snapshot();
    reply.code(healthStatusCode(h.status));
    return { service: opts.service, pid: process.pid, ...h };
  });
  app.get("/health/live", async (_req, reply) => {
    const h = snapshot();
    reply.code(livenessStatusCode(h.status));
    return { service: opts.service, pid: process.pid, status: h.status };
  });
  const url = await app.listen({ port: opts.port, host: opts.host ?? "127.0.0.1" });
  return { url, close: () => app.close() };
}
