/**
 * Operator commands for routes (run from the repo root):
 *   npx tsx services/router/src/cli/routes.ts status
 *   npx tsx services/router/src/cli/routes.ts reset --use-case support-chat --tier small
 *   npx tsx services/router/src/cli/routes.ts calibration
 * `status` lists every route of the policy with its measured agreement and fallback state;
 * `calibration` shows, per route with a quality target: the target, the quality achieved (live
 * from shadow results when there are enough, else the model's out-of-fold estimate), its
 * interval, the samples behind it and the current threshold;
 * `reset` takes a route out of automatic fallback and forgets its window (it starts measuring
 * afresh), and records the reset in costwise.route_fallback_events.
 */
import { createClient } from "@clickhouse/client";
import { Command } from "commander";
import Table from "cli-table3";
import { catalog } from "@costwise/pricing";
import { loadRouterConfig } from "../config.ts";
import { loadPolicy } from "../policy.ts";
import { agreementRate } from "../quality.ts";
import { clickhouseShadowWriter } from "../shadow/clickhouse.ts";
import { chDateTime } from "../shadow/rows.ts";
import { redisRouteStore, routeId } from "../store.ts";
import { chooseThreshold, recalibrate } from "../semantic/calibration.ts";
import { liveStart } from "../semantic/live.ts";
import type { ShadowResults } from "../semantic/shadow-port.ts";
import { clickhouseShadowResults } from "../semantic/clickhouse-results.ts";

const config = loadRouterConfig();
const program = new Command("routes").description("Inspect and reset router routes (automatic fallback)");

program.command("status").description("agreement and fallback state of every route").action(async () => {
  const policy = loadPolicy(config.ROUTER_POLICY_FILE, { catalog });
  const store = redisRouteStore(config.REDIS_URL, { prefix: config.ROUTER_REDIS_PREFIX, timeoutMs: 2_000 });
  try {
    const fallbacks = await store.fallbacks();
    const table = new Table({ head: ["use case", "tier", "comparisons", "agreement", "floor", "state"], style: { head: [], border: [] } });
    for (const [uc, p] of policy.useCases) {
      for (const t of p.tiers.slice(0, -1)) {
        const window = await store.window({ useCase: uc, tier: t.name });
        const rate = agreementRate(window);
        const fb = fallbacks.get(routeId({ useCase: uc, tier: t.name }));
        table.push([uc, t.name, String(window.length), rate === null ? "-" : rate.toFixed(3), p.quality.floor.toFixed(2), fb ? `FALLBACK since ${new Date(fb.since).toISOString()}` : window.length < p.quality.minSamples ? `measuring (${p.quality.minSamples} needed)` : "ok"]);
      }
    }
    process.stdout.write(`${table.toString()}\n`);
  } finally {
    await store.close();
  }
});

program.command("calibration").description("target, achieved quality, interval, samples and threshold of every calibrated route").option("--samples <n>", "most recent shadow results per route", "1000").action(async (o: { samples: string }) => {
  const policy = loadPolicy(config.ROUTER_POLICY_FILE, { catalog });
  const ch = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, request_timeout: 10_000 });
  const shadow = clickhouseShadowResults(ch, config.CLICKHOUSE_DATABASE);
  try {
    const table = new Table({ head: ["use case", "tier", "target", "achieved", "interval", "samples", "source", "threshold", "offline threshold"], style: { head: [], border: [] } });
    for (const [uc, p] of policy.useCases) {
      if (!p.semantic) continue;
      const tier = p.tiers[0]!.name;
      const offline = chooseThreshold(p.semantic.model.calibration, p.semantic.target);
      if (!("threshold" in offline)) continue; // the policy would not have loaded
      let samples: Awaited<ReturnType<ShadowResults["recent"]>> = [];
      try {
        samples = await shadow.recent({ useCase: uc, tier }, Number(o.samples));
      } catch (err) {
        process.stderr.write(`shadow results for ${uc}/${tier} unavailable (${(err as Error).message}): showing the offline calibration\n`);
      }
      const live = recalibrate(offline, samples, p.semantic.target, p.quality.minSamples, liveStart(p));
      const target = p.semantic.target.quality !== undefined ? `quality ≥ ${p.semantic.target.quality}` : `strong share ≤ ${p.semantic.target.strong_share_max}`;
      const n = live.source === "offline" ? `${p.semantic.model.calibration.groups} labelled groups (${samples.length} shadow)` : String(live.samples);
      table.push([uc, tier, target, live.achieved.toFixed(3), `[${live.lower.toFixed(3)}, ${live.achieved.toFixed(3)}]`, n, live.source, live.source === "unconfirmed" ? "frontier only" : live.threshold.toFixed(4), offline.threshold.toFixed(4)]);
    }
    process.stdout.write(`${table.toString()}\n`);
  } finally {
    await ch.close();
  }
});

program
  .command("reset")
  .description("leave automatic fallback and forget the route's window")
  .requiredOption("--use-case <name>")
  .requiredOption("--tier <name>")
  .action(async (o: { useCase: string; tier: string }) => {
    const store = redisRouteStore(config.REDIS_URL, { prefix: config.ROUTER_REDIS_PREFIX, timeoutMs: 2_000 });
    const ch = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD });
    try {
      const route = { useCase: o.useCase, tier: o.tier };
      const window = await store.window(route);
      const floor = loadPolicy(config.ROUTER_POLICY_FILE, { catalog }).useCases.get(o.useCase)?.quality.floor ?? 0;
      await store.resetRoute(route);
      const refused = await clickhouseShadowWriter(ch, config.CLICKHOUSE_DATABASE).fallbackEvents([
        { ts: chDateTime(Date.now()), use_case: o.useCase, tier: o.tier, transition: "reset", agreement: agreementRate(window) ?? 0, samples: window.length, floor, request_id: "" },
      ]);
      if (refused.length > 0) throw new Error(refused[0]!.reason);
      process.stdout.write(`route ${o.useCase}/${o.tier} reset: routers pick it up within ROUTER_FALLBACK_REFRESH_MS (${config.ROUTER_FALLBACK_REFRESH_MS} ms)\n`);
    } finally {
      await store.close();
      await ch.close();
    }
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
