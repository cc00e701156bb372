import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import Table from "cli-table3";
import { Option, type Command } from "commander";
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { repoRoot } from "@costwise/infra";
import { catalog as currentCatalog, nanoUsdToUsd, type PriceCatalog } from "@costwise/pricing";
import { redisDistillSwitchStore, redisRouteStore, type DistilledSwitch, type DistillSwitchStore, type FallbackInfo } from "@costwise/route-state";
import { loadDistillCliConfig, type DistillCliConfig } from "./config.ts";
import { DistillInputError } from "./errors.ts";
import { exportUseCase, fetchSamples, toChatJsonl, toPromptCompletionJsonl, type ExportSummary, type QueryFn } from "./export.ts";

import { loadDistillPolicy, type DistillPolicy } from "./policy.ts";
import { buildStatus, fetchDistillData, type UseCaseStatus } from "./status.ts";
import { switchOff, switchOn } from "./switch.ts";

/** What one `costwise distill …` run talks to, opened on first use so `--help` needs no server. */
export interface DistillRuntime {
  readonly query: QueryFn;
  readonly database: string;
  readonly switches: Pick<DistillSwitchStore, "all" | "set" | "clear">;
  /** The router's fallback states, by JSON [use case, tier]. */
  readonly fallbacks: () => Promise<ReadonlyMap<string, FallbackInfo>>;
  close(): Promise<void>;
}

export interface DistillCliDeps {
  readonly open: () => Promise<DistillRuntime>;
  readonly policy: () => DistillPolicy;
  /** Use cases in the router's policy. */
  readonly routerUseCases: () => ReadonlySet<string>;
  readonly catalog: PriceCatalog;
  readonly now: () => Date;
  readonly out: (text: string) => void;
  readonly writeFile?: (file: string, text: string) => Promise<void>;
}

/** `--since`: a duration back from now (90m, 24h, 30d, 2w) or a UTC date (2026-06-01). */
export function parseSince(text: string, now: Date): Date {
  const rel = /^(\d+)\s*([mhdw])$/.exec(text.trim());
  if (rel) {
    const unit = { m: 60, h: 3_600, d: 86_400, w: 604_800 }[rel[2] as "m" | "h" | "d" | "w"];
    const seconds = Number(rel[1]) * unit;
    if (seconds > 0) return new Date(Math.floor((now.getTime() - seconds * 1000) / 1000) * 1000);
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(text.trim())) {
    const d = new Date(`${text.trim()}T00:00:00Z`);
    if (!Number.isNaN(d.getTime()) && d.getTime() <= now.getTime()) return d;
  }
  throw new DistillInputError(`invalid --since ${JSON.stringify(text)}: use a duration such as 24h, 30d, 2w or a date such as 2026-06-01`);
}

// Cents for real money; four significant digits below a dollar, so a $0.0016 training run does not print as $0.00.
const usd = (nano: number) => {
  const v = nanoUsdToUsd(nano);
  return Math.abs(v) >= 1 || v === 0 ? `$${v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}` : `$${v.toPrecision(4)}`;
};
const pct = (x: number | null) => (x === null ? "-" : `${(x * 100).toFixed(1)}%`);

export function renderStatus(rows: readonly UseCaseStatus[], format: "table" | "json"): string {
  if (format === "json") return `${JSON.stringify(rows, null, 2)}\n`;
  if (rows.length === 0) return "No distillation data for the selection (is capture enabled and the distiller running?).\n";
  const t = new Table({ head: ["tenant", "use case", "candidate", "samples", "unique", "shadow n", "agreement", "95% CI", "calls/month", "saving/month", "bar", "ready", "switch"] });
  for (const r of rows) {
    t.push([
      r.tenant, r.useCase, r.candidate ?? "-", r.samples, r.uniquePrompts, r.decided, pct(r.agreement),
      r.interval ? `${pct(r.interval.lower)}-${pct(r.interval.upper)}` : "-",
      r.projection ? r.projection.monthlyCalls.toLocaleString("en-US") : "-",
      r.projection ? usd(r.projection.monthlySavingNanoUsd) : "-",
      `n>=${r.bar.minSamples}, lower>=${pct(r.bar.minAgreementLower)}`,
      r.ready ? "yes" : `no: ${r.reason}`,
      r.switchState === "off" ? (r.enabled ? "off" : "off (not enabled)") : r.switchState === "on" ? `on: ${r.switchedModel}` : `fallback (${r.switchedModel})`,
    ]);
  }
  return `${t.toString()}\n`;
}

export function renderExport(s: ExportSummary, files: readonly string[], format: "table" | "json"): string {
  if (format === "json") return `${JSON.stringify({ ...s, files }, null, 2)}\n`;
  const t = new Table();
  t.push(
    { "use case": s.useCase + (s.tenant ? ` (tenant ${s.tenant})` : "") },
    { "captured rows": s.capturedRows },
    { "duplicates dropped": s.duplicates },
    { "invalid dropped": s.invalid },
    { train: `${s.train.examples} examples, ${s.train.tokens.toLocaleString("en-US")} tokens` },
    { validation: `${s.validation.examples} examples, ${s.validation.tokens.toLocaleString("en-US")} tokens` },
    { "fine-tune base": s.model ?? "-" },
    { "training cost": s.estimatedTrainingCostNanoUsd === null ? "-" : `${usd(s.estimatedTrainingCostNanoUsd)} (${s.epochs} epochs × $${s.trainingPricePerMTok}/1M tokens)` },
  );
  return `${t.toString()}\n${s.warnings.map((w) => `warning: ${w}\n`).join("")}${files.map((f) => `wrote ${f}\n`).join("")}`;
}

const FORMATS = ["table", "json"] as const;

/**
 * Add `distill status | export | switch` to a commander program (the `costwise` CLI of
 * @costwise/analytics). Subcommands are created with .command(), so they inherit the program's
 * output and exit settings.
 */
export function registerDistillCommands(program: Command, deps: DistillCliDeps): Command {
  const distill = program.command("distill").description("distillation: captured samples, fine-tuning export, candidate shadow status and the router switch");
  const withRuntime = async <T>(work: (rt: DistillRuntime) => Promise<T>): Promise<T> => {
    const rt = await deps.open();
    try {
      return await work(rt);
    } finally {
      await rt.close();
    }
  };
  const nonEmpty = (v: string | undefined, flag: string) => {
    if (v !== undefined && v.trim() === "") throw new DistillInputError(`${flag} must not be empty`);
    return v;
  };
  const statusOf = async (rt: DistillRuntime, policy: DistillPolicy, o: { since: string; tenant?: string | undefined; useCase?: string | undefined }) => {
    const now = deps.now();
    const since = parseSince(o.since, now);
    const until = new Date(Math.floor(now.getTime() / 1000) * 1000 + 1000);
    const sel = { since, until, tenant: nonEmpty(o.tenant, "--tenant"), useCase: nonEmpty(o.useCase, "--use-case") };
    const [data, switches, fallbacks] = await Promise.all([fetchDistillData(rt.query, rt.database, sel, policy), rt.switches.all(), rt.fallbacks()]);
    return buildStatus(data, policy, { windowSeconds: (until.getTime() - since.getTime()) / 1000, catalog: deps.catalog, switches, fallbacks, tenant: sel.tenant, useCase: sel.useCase });
  };

  distill
    .command("status")
    .description("per tenant and use case: samples captured, shadow agreement (95% Wilson interval), projected monthly saving, readiness, switch")
    .option("--since <when>", "window: a duration back from now (24h, 30d) or a date", "30d")
    .option("--tenant <tenant>", "only this tenant")
    .option("--use-case <useCase>", "only this use case")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("table"))
    .action(async (o: { since: string; tenant?: string; useCase?: string; format: "table" | "json" }) => {
      const policy = deps.policy();
      deps.out(renderStatus(await withRuntime((rt) => statusOf(rt, policy, o)), o.format));
    });

  distill
    .command("export")
    .description("write a deduplicated train/validation split of a use case's samples as OpenAI chat fine-tuning JSONL and prompt/completion JSONL, with a summary")
    .requiredOption("--use-case <useCase>", "the use case to export")
    .option("--tenant <tenant>", "only this tenant's samples")
    .option("--since <when>", "samples captured since (a duration or a date)", "90d")
    .option("--out <dir>", "output directory", path.join(repoRoot, ".costwise", "distill"))
    .addOption(new Option("--format <format>", "summary format").choices(FORMATS).default("table"))
    .action(async (o: { useCase: string; tenant?: string; since: string; out: string; format: "table" | "json" }) => {
      const policy = deps.policy();
      const uc = policy.useCases.get(o.useCase);
      if (!uc) throw new DistillInputError(`use case "${o.useCase}" is not in the distillation policy ${policy.source}`);
      const sel = { useCase: o.useCase, tenant: nonEmpty(o.tenant, "--tenant"), since: parseSince(o.since, deps.now()) };
      const rows = await withRuntime((rt) => fetchSamples(rt.query, rt.database, sel));
      const { set, summary } = exportUseCase(rows, sel, uc, deps.catalog);
      const base = path.join(o.out, `${sel.tenant ? `${sel.tenant}.` : ""}${o.useCase}`);
      const files: [string, string][] = [
        [`${base}.train.jsonl`, toChatJsonl(set.train)],
        [`${base}.validation.jsonl`, toChatJsonl(set.validation)],
        [`${base}.train.prompt-completion.jsonl`, toPromptCompletionJsonl(set.train)],
        [`${base}.validation.prompt-completion.jsonl`, toPromptCompletionJsonl(set.validation)],
      ];
      files.push([`${base}.summary.json`, `${JSON.stringify({ ...summary, files: files.map(([f]) => f) }, null, 2)}\n`]);
      const write = deps.writeFile ?? (async (f: string, text: string) => {
        await mkdir(path.dirname(f), { recursive: true });
        await writeFile(f, text);
      });
      for (const [f, text] of files) await write(f, text);
      deps.out(renderExport(summary, files.map(([f]) => f), o.format));
    });

  distill
    .command("switch")
    .description("send a tenant's use case to its candidate (distilled) model through the router, once the readiness bar is met; --off turns it back")
    .requiredOption("--use-case <useCase>", "the use case")
    .requiredOption("--tenant <tenant>", "the tenant (switches are per tenant)")
    .option("--since <when>", "window of the shadow comparisons judged", "30d")
    .option("--off", "remove the switch")
    .action(async (o: { useCase: string; tenant: string; since: string; off?: boolean }) => {
      const policy = deps.policy();
      await withRuntime(async (rt) => {
        if (o.off) {
          const removed = await switchOff(o.tenant, o.useCase, { switches: rt.switches });
          deps.out(removed ? `switched off: ${o.tenant}/${o.useCase} goes back to its usual routing\n` : `${o.tenant}/${o.useCase} was not switched\n`);
          return;
        }
        const status = (await statusOf(rt, policy, { since: o.since, tenant: o.tenant, useCase: o.useCase }))[0];
        const sw: DistilledSwitch = await switchOn(status, o.tenant, o.useCase, { policy, switches: rt.switches, routerUseCases: deps.routerUseCases(), now: () => deps.now().getTime() });
        deps.out(`switched on: ${o.tenant}/${o.useCase} → ${sw.model} (agreement ${pct(sw.agreement)}, 95% lower bound ${pct(sw.lower)}, ${sw.samples} comparisons); the router falls back to the frontier tier if its live agreement drops below the use case's floor\n`);
      });
    });
  return distill;
}

/** The CLI's dependencies from the environment (CLICKHOUSE_*, REDIS_URL, DISTILL_POLICY_FILE, ROUTER_POLICY_FILE …). */
/**
 * `routerUseCases` reads the router's policy; the composing CLI passes it in, since the distiller,
 * a service, never imports the router.
 */
export function distillCliDepsFromEnv(
  io: { out: (t: string) => void; routerUseCases: (env: NodeJS.ProcessEnv, catalog: PriceCatalog) => ReadonlySet<string> },
  env: NodeJS.ProcessEnv = process.env,
): DistillCliDeps {
  // Parsed on first use, inside the command: a bad variable is reported like any command error.
  let parsed: DistillCliConfig | undefined;
  const cfg = () => (parsed ??= loadDistillCliConfig(env));
  return {
    catalog: currentCatalog,
    now: () => new Date(),
    out: io.out,
    policy: () => loadDistillPolicy(cfg().DISTILL_POLICY_FILE, currentCatalog),
    routerUseCases: () => io.routerUseCases(env, currentCatalog),
    open: async () => {
      const config = cfg();
      const ch = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, request_timeout: 120_000, log: { level: ClickHouseLogLevel.OFF } });
      const switches = redisDistillSwitchStore(config.REDIS_URL, { key: config.DISTILL_SWITCH_KEY });
      const routes = redisRouteStore(config.REDIS_URL, { prefix: config.ROUTER_REDIS_PREFIX, timeoutMs: 2_000 });
      return {
        query: async <T>(q: string) => (await ch.query({ query: q, format: "JSONEachRow" })).json<T>(),
        database: config.CLICKHOUSE_DATABASE,
        switches,
        fallbacks: () => routes.fallbacks(),
        close: async () => {
          await Promise.all([ch.close(), switches.close(), routes.close()]);
        },
      };
    },
  };
}
