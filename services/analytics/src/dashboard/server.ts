import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "@costwise/stream-runtime";
import { AnalyticsInputError } from "../errors.ts";
import { buildAdvice, buildReport, buildSavings, renderAdvice, renderReport, renderSavings } from "../reports.ts";
import { dashboardData, scopeOf, type ApiDeps, type ApiParams } from "./api.ts";

const PUBLIC_DIR = new URL("./public/", import.meta.url);

/** Chart.js's self-contained UMD build, served from node_modules: the page loads nothing from the internet. */
export function chartJsPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve("chart.js")), "chart.umd.min.js");
}

export interface DashboardOptions extends ApiDeps {
  readonly refreshMs: number;
  readonly logger: Logger;
}

const STATIC: Record<string, { file: string; type: string }> = {
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

/**
 * The dashboard: one page (public/index.html + app.js) and JSON endpoints. `/api/report`,
 * `/api/savings` and `/api/advise` return exactly what `costwise <command> --format json`
 * prints for the same filters; `/api/dashboard` is everything the page draws.
 */
export async function createDashboard(opts: DashboardOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  const [indexHtml, chartJs] = await Promise.all([readFile(new URL("index.html", PUBLIC_DIR), "utf8"), readFile(chartJsPath())]);
  const page = indexHtml.replace("__REFRESH_MS__", String(opts.refreshMs));

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof AnalyticsInputError) {
      void reply.code(400).send({ error: err.message });
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    opts.logger.error({ err: message, url: req.url }, "dashboard request failed");
    void reply.code(502).send({ error: `ClickHouse query failed: ${message}` });
  });

  app.get("/", async (_req, reply) => reply.type("text/html; charset=utf-8").header("cache-control", "no-store").send(page));
  app.get("/assets/chart.umd.min.js", async (_req, reply) => reply.type("text/javascript; charset=utf-8").header("cache-control", "max-age=3600").send(chartJs));
  for (const [route, { file, type }] of Object.entries(STATIC)) {
    const body = await readFile(new URL(file, PUBLIC_DIR));
    app.get(route, async (_req, reply) => reply.type(type).header("cache-control", "no-store").send(body));
  }
  app.get("/health", async () => ({ service: "dashboard", status: "ok" }));

  app.get<{ Querystring: ApiParams }>("/api/dashboard", async (req) => dashboardData(req.query, opts));
  const json = (text: string) => JSON.parse(text) as unknown;
  app.get<{ Querystring: ApiParams }>("/api/report", async (req) => json(renderReport(await buildReport(opts.query, scopeOf(req.query, opts)), "json")));
  app.get<{ Querystring: ApiParams }>("/api/savings", async (req) => json(renderSavings(await buildSavings(opts.query, scopeOf(req.query, opts)), "json")));
  app.get<{ Querystring: ApiParams }>("/api/advise", async (req) => json(renderAdvice(await buildAdvice(opts.query, scopeOf(req.query, opts)), "json")));
  return app;
}
