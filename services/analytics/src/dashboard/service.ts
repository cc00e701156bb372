import { StreamMetrics, type RunningService } from "@costwise/stream-runtime";
import { createDashboard, type DashboardOptions } from "./server.ts";

export interface StartDashboardOptions extends DashboardOptions {
  readonly host: string;
  readonly port: number;
  /** Closes what the dashboard was given (the ClickHouse client). */
  readonly close?: () => Promise<void>;
}

/**
 * Listen, with /metrics (process metrics) beside the page, and return the runtime's service
 * handle so `runMain` stops it cleanly on SIGTERM.
 */
export async function startDashboard(opts: StartDashboardOptions): Promise<RunningService & { readonly url: string }> {
  const app = await createDashboard(opts);
  const metrics = new StreamMetrics("dashboard");
  app.get("/metrics", async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  const url = await app.listen({ host: opts.host, port: opts.port });
  opts.logger.info({ url }, "dashboard listening");
  let stopping: Promise<void> | undefined;
  return {
    name: "dashboard",
    url,
    opsUrl: url,
    metrics,
    ready: () => true,
    stop: () =>
      (stopping ??= (async () => {
        await app.close();
        await opts.close?.();
      })()),
  };
}
