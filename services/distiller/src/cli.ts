import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { setTimeout as sleepMs } from "node:timers/promises";
import path from "node:path";
import Table from "cli-table3";
import { Option, type Command } from "commander";
import { ClickHouseLogLevel, createClient } from "@clickhouse/client";
import { repoRoot } from "@costwise/infra";
import { insertIsolating, clickhouseWriter } from "@costwise/clickhouse-writer";
import type { ChatPort } from "@costwise/judging";
import { catalog as currentCatalog, fineTunePriceOf, fineTunedModel, findModel, nanoUsdToUsd, type ModelPrice, type PriceCatalog } from "@costwise/pricing";
import { createProviders } from "@costwise/providers";
import { promptHash } from "./capture.ts";
import { DISTILLED_TIER, redisDistillSwitchStore, redisRouteStore, type DistillSwitchStore, type FallbackInfo } from "@costwise/route-state";
import { createLogger } from "@costwise/stream-runtime";
import { advise, type Advice } from "./advise.ts";
import { fetchEvalItems, parseReplay, scoreModel, verdictOf, type EvalItem, type EvalSummary } from "./evaluate.ts";
import { openAiFineTuneApi, type FineTuneApi } from "./finetune-api.ts";
import { latestModel, redisJobStore, type JobRecord, type JobStore } from "./jobs.ts";
import { inferencePriceOf } from "./prices.ts";
import type { SemanticEmbedder } from "./score.ts";
import { DISTILL_TABLES, type DistillShadowRow } from "./shadow.ts";
import { cancelTrain, runTrain, trainingBase, type Backoff } from "./train.ts";
import { loadDistillCliConfig, type DistillCliConfig } from "./config.ts";
import { DistillInputError } from "./errors.ts";
import { exportUseCase, fetchSamples, toChatJsonl, toPromptCompletionJsonl, type ExportSummary, type QueryFn } from "./export.ts";

import { loadDistillPolicy, withCandidates, type DistillPolicy, type UseCaseDistillPolicy } from "./policy.ts";
import { buildStatus, fetchDistillData, type UseCaseStatus } from "./status.ts";
import { fetchLiveEvidence, switchOff, switchOn } from "./switch.ts";

/** What one `costwise distill …` run talks to, opened on first use so `--help` needs no server. */
export interface DistillRuntime {
  readonly query: QueryFn;
  readonly database: string;
  readonly switches: Pick<DistillSwitchStore, "all" | "set" | "clear">;
  /** The router's fallback states, by JSON [use case, tier]. */
  readonly fallbacks: () => Promise<ReadonlyMap<string, FallbackInfo>>;
  /** Fine-tuning jobs `train` started. */
  readonly jobs: Pick<JobStore, "put" | "get" | "all">;
  readonly fineTune: FineTuneApi;
  /** Candidate calls of `evaluate` (and an LLM judge's). */
  readonly chat: ChatPort;
  /** The local sentence model, loaded on first use: needed by use cases scored "embedding" or "semantic". */
  readonly embedder?: () => Promise<SemanticEmbedder | null>;
  /** Land `evaluate`'s comparisons in distill_shadow (the readiness evidence, charged as overhead); returns the rows refused. */
  readonly writeShadow: (rows: readonly DistillShadowRow[]) => Promise<number>;
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
  readonly readFile?: (file: string) => Promise<string>;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Polling backoff of `train` (default from DISTILL_POLL_*). */
  readonly backoff?: Backoff;
  readonly evalConcurrency?: number;
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

/** A duration: 30s, 90m, 2h, 1d. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new DistillInputError(`invalid ${flag} ${JSON.stringify(text)}: use a duration such as 30s, 20m or 2h`);
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s" | "m" | "h" | "d"];
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
  /**
   * The policy with each use case's current candidate: a model named by --model, else the newest
   * model `train` produced for the use case, else the policy's candidate. A model the catalog
   * cannot price is refused here, so nothing downstream evaluates or switches to it.
   */
  const effective = async (rt: DistillRuntime, policy: DistillPolicy, o: { useCase?: string | undefined; tenant?: string | undefined; model?: string | undefined }) => {
    const jobs = await rt.jobs.all();
    const chosen = new Map<string, ModelPrice>();
    for (const uc of policy.useCases.values()) {
      const id = o.model !== undefined && uc.useCase === o.useCase ? o.model : (latestModel(jobs, uc.useCase, o.tenant ?? null) ?? latestModel(jobs, uc.useCase))?.fineTunedModel;
      if (!id) continue;
      const priced = inferencePriceOf(deps.catalog, id);
      if (!priced) {
        if (o.useCase === undefined || o.useCase === uc.useCase) {
          throw new DistillInputError(`model "${id}" of use case "${uc.useCase}" cannot be priced from catalog ${deps.catalog.version}${id.startsWith("ft:") ? " (its base model is unknown or not an OpenAI chat model)" : ""}: not evaluated, not switched`);
        }
        continue;
      }
      chosen.set(uc.useCase, priced);
    }
    return { policy: withCandidates(policy, chosen), jobs };
  };
  const statusOf = async (rt: DistillRuntime, policy: DistillPolicy, o: { since: string; tenant?: string | undefined; useCase?: string | undefined }) => {
    const now = deps.now();
    const since = parseSince(o.since, now);
    const until = new Date(Math.floor(now.getTime() / 1000) * 1000 + 1000);
    const sel = { since, until, tenant: nonEmpty(o.tenant, "--tenant"), useCase: nonEmpty(o.useCase, "--use-case") };
    const [data, switches, fallbacks] = await Promise.all([fetchDistillData(rt.query, rt.database, sel, policy), rt.switches.all(), rt.fallbacks()]);
    return buildStatus(data, policy, { windowSeconds: (until.getTime() - since.getTime()) / 1000, catalog: deps.catalog, switches, fallbacks, tenant: sel.tenant, useCase: sel.useCase });
  };
  const useCaseOf = (policy: DistillPolicy, useCase: string): UseCaseDistillPolicy => {
    const uc = policy.useCases.get(useCase);
    if (!uc) throw new DistillInputError(`use case "${useCase}" is not in the distillation policy ${policy.source}`);
    return uc;
  };

  distill
    .command("status")
    .description("per tenant and use case: samples captured, shadow agreement (95% Wilson interval), projected monthly saving, readiness, switch")
    .option("--since <when>", "window: a duration back from now (24h, 30d) or a date", "30d")
    .option("--tenant <tenant>", "only this tenant")
    .option("--use-case <useCase>", "only this use case")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("table"))
    .action(async (o: { since: string; tenant?: string; useCase?: string; format: "table" | "json" }) => {
      deps.out(renderStatus(await withRuntime(async (rt) => statusOf(rt, (await effective(rt, deps.policy(), {})).policy, o)), o.format));
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
    .description("send a tenant's use case to its candidate (or fine-tuned) model through the router once the evidence meets the use case's quality target, then ramp it step by step (policy ramp.steps) on live evidence; --off turns it back")
    .requiredOption("--use-case <useCase>", "the use case")
    .requiredOption("--tenant <tenant>", "the tenant (switches are per tenant)")
    .option("--model <model>", "switch to this model instead of the trained or policy candidate")
    .option("--since <when>", "window of the shadow comparisons judged", "30d")
    .option("--off", "remove the switch")
    .action(async (o: { useCase: string; tenant: string; model?: string; since: string; off?: boolean }) => {
      await withRuntime(async (rt) => {
        if (o.off) {
          const removed = await switchOff(o.tenant, o.useCase, { switches: rt.switches });
          deps.out(removed ? `switched off: ${o.tenant}/${o.useCase} goes back to its usual routing\n` : `${o.tenant}/${o.useCase} was not switched\n`);
          return;
        }
        const { policy } = await effective(rt, deps.policy(), { useCase: o.useCase, tenant: o.tenant, model: nonEmpty(o.model, "--model") });
        const status = (await statusOf(rt, policy, { since: o.since, tenant: o.tenant, useCase: o.useCase }))[0];
        const [switches, fallbacks] = await Promise.all([rt.switches.all(), rt.fallbacks()]);
        const current = switches.get(JSON.stringify([o.tenant, o.useCase])) ?? null;
        const live = current ? await fetchLiveEvidence(rt.query, rt.database, { tenant: o.tenant, useCase: o.useCase, model: current.model, since: new Date(Math.floor(current.since / 1000) * 1000) }) : null;
        const fallback = current ? (fallbacks.get(JSON.stringify([o.useCase, DISTILLED_TIER])) ?? null) : null;
        const { sw, step, steps } = await switchOn(status, o.tenant, o.useCase, { policy, switches: rt.switches, routerUseCases: deps.routerUseCases(), now: () => deps.now().getTime() }, { current, live, fallback });
        deps.out(
          `switched on: ${o.tenant}/${o.useCase} → ${sw.model} at ${sw.share}% of its traffic (step ${step} of ${steps}; evidence: agreement ${pct(sw.agreement)}, 95% lower bound ${pct(sw.lower)}, ${sw.samples} comparisons)` +
            `${live ? `; live at the previous step: ${live.agreed}/${live.decided} agreed` : ""}; the router falls back to the frontier tier if its live agreement drops below the use case's floor\n`,
        );
      });
    });

  distill
    .command("train")
    .description("fine-tune the use case's fineTuneBase on its export: upload (files), create the job (fine_tuning.jobs), poll with backoff; a rerun resumes the unfinished job; records the model and the training cost")
    .requiredOption("--use-case <useCase>", "the use case")
    .option("--tenant <tenant>", "train on this tenant's samples only")
    .option("--since <when>", "samples captured since", "90d")
    .option("--wait <duration>", "stop polling after this long (the job keeps running; rerun to resume), e.g. 30m, 2h", "2h")
    .option("--new", "start a new job even if one is unfinished")
    .option("--cancel", "cancel the unfinished job")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("table"))
    .action(async (o: { useCase: string; tenant?: string; since: string; wait: string; new?: boolean; cancel?: boolean; format: "table" | "json" }) => {
      const policy = deps.policy();
      const uc = useCaseOf(policy, o.useCase);
      const tenant = nonEmpty(o.tenant, "--tenant") ?? null;
      const waitMs = parseDuration(o.wait, "--wait");
      await withRuntime(async (rt) => {
        const tdeps = { api: rt.fineTune, store: rt.jobs, catalog: deps.catalog, now: () => deps.now().getTime(), sleep: deps.sleep ?? ((ms: number, signal?: AbortSignal) => sleepMs(ms, undefined, signal ? { signal } : {})), progress: (l: string) => deps.out(`${l}\n`), ...(deps.backoff ? { backoff: deps.backoff } : {}) };
        if (o.cancel) {
          const rec = await cancelTrain(uc, tenant, tdeps);
          deps.out(`${rec.jobId}: ${rec.status}\n`);
          return;
        }
        const outcome = await runTrain(
          {
            uc, tenant, waitMs, restart: o.new === true,
            exportSet: async () => {
              const sel = { useCase: o.useCase, tenant: tenant ?? undefined, since: parseSince(o.since, deps.now()) };
              return exportUseCase(await fetchSamples(rt.query, rt.database, sel), sel, uc, deps.catalog);
            },
          },
          tdeps,
        );
        deps.out(renderJob(outcome.job, outcome.kind, o.format, deps.catalog));
      });
    });

  distill
    .command("jobs")
    .description("the fine-tuning jobs train started: status, result model, trained tokens and training cost")
    .option("--use-case <useCase>", "only this use case")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("table"))
    .action(async (o: { useCase?: string; format: "table" | "json" }) => {
      const jobs = (await withRuntime((rt) => rt.jobs.all())).filter((j) => o.useCase === undefined || j.useCase === o.useCase);
      if (o.format === "json") return deps.out(`${JSON.stringify(jobs.map(({ trainPromptHashes, ...j }) => ({ ...j, trainPrompts: trainPromptHashes.length })), null, 2)}\n`);
      if (jobs.length === 0) return deps.out("No fine-tuning jobs.\n");
      const t = new Table({ head: ["job", "use case", "tenant", "base", "status", "model", "trained tokens", "training cost", "created"] });
      for (const j of jobs) t.push([j.jobId, j.useCase, j.tenant ?? "(all)", j.baseModel, j.status + (j.error ? `: ${j.error.code}` : ""), j.fineTunedModel ?? "-", j.trainedTokens?.toLocaleString("en-US") ?? "-", j.trainingCostNanoUsd === null ? "-" : usd(j.trainingCostNanoUsd), new Date(j.createdAt).toISOString()]);
      deps.out(`${t.toString()}\n`);
    });

  distill
    .command("evaluate")
    .description("answer the use case's recent captured prompts (not trained on) or a replay file with the candidate in shadow, judged against the frontier answers by the use case's scorer; prints the agreement with a Wilson and a bootstrap 95% interval, the untuned base model as baseline, and whether it meets the quality target; JSON summary last")
    .requiredOption("--use-case <useCase>", "the use case")
    .option("--tenant <tenant>", "only this tenant's traffic (with --replay: the tenant its rows are recorded under)")
    .option("--model <model>", "evaluate this model instead of the trained or policy candidate")
    .option("--replay <file>", "chat JSONL whose last assistant message is the frontier answer (e.g. an export's validation file) instead of captured traffic")
    .option("--since <when>", "captured traffic since", "7d")
    .option("--limit <n>", "at most this many prompts (the most recent)", "300")
    .option("--no-baseline", "skip the untuned base model")
    .action(async (o: { useCase: string; tenant?: string; model?: string; replay?: string; since: string; limit: string; baseline: boolean }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit <= 0) throw new DistillInputError(`--limit must be a positive integer, got ${JSON.stringify(o.limit)}`);
      const tenant = nonEmpty(o.tenant, "--tenant");
      await withRuntime(async (rt) => {
        const { policy, jobs } = await effective(rt, deps.policy(), { useCase: o.useCase, tenant, model: nonEmpty(o.model, "--model") });
        const uc = useCaseOf(policy, o.useCase);
        if (!uc.candidate) throw new DistillInputError(`use case "${o.useCase}" has no candidate: run costwise distill train, or name one with --model`);
        const job = jobs.find((j) => j.fineTunedModel === uc.candidate!.id) ?? null;
        let items: EvalItem[];
        let source: string;
        if (o.replay) {
          items = parseReplay(await (deps.readFile ?? ((f: string) => readFile(f, "utf8")))(o.replay), o.replay, { tenant: tenant ?? "replay", now: deps.now().getTime(), hash: promptHash }).slice(0, limit);
          source = o.replay;
        } else {
          items = await fetchEvalItems(rt.query, rt.database, { useCase: o.useCase, tenant, since: parseSince(o.since, deps.now()), limit, exclude: new Set(job?.trainPromptHashes ?? []) });
          source = `captured traffic since ${o.since}${job ? `, without the ${job.trainPromptHashes.length} prompts ${job.jobId} trained on` : ""}`;
        }
        if (items.length === 0) throw new DistillInputError(`no prompts to evaluate ${uc.candidate.id} on (${source})`);
        const needsEmbedder = uc.shadow.scorer === "embedding" || uc.shadow.scorer === "semantic";
        const sdeps = { chat: rt.chat, catalog: deps.catalog, embedder: needsEmbedder && rt.embedder ? await rt.embedder() : null, now: () => deps.now().getTime(), concurrency: deps.evalConcurrency ?? 4 };
        deps.out(`evaluating ${uc.candidate.id} on ${items.length} prompts (${source}), scorer ${uc.shadow.scorer}\n`);
        const cand = await scoreModel(items, uc, uc.candidate, sdeps);
        const baseId = fineTunedBaseOf(uc.candidate);
        const base = o.baseline && baseId ? findModel(deps.catalog, baseId) : undefined;
        const baseline = base ? await scoreModel(items, uc, base, sdeps) : null;
        const refused = await rt.writeShadow([...cand.rows, ...(baseline?.rows ?? [])]);
        const v = verdictOf(cand.score, uc);
        const summary: EvalSummary = { useCase: o.useCase, source, items: items.length, scorer: uc.shadow.scorer, candidate: cand.score, baseline: baseline?.score ?? null, target: uc.readiness, meets: v.meets, reason: v.reason };
        deps.out(renderEvaluation(summary, refused));
      });
    });

  distill
    .command("advise")
    .description("per use case: break-even volume of fine-tuning, from the measured traffic (ClickHouse), the training cost (the job's, else the export's estimate) and the price difference, net of the shadow calls that keep watching the switch; JSON summary last")
    .option("--use-case <useCase>", "only this use case")
    .option("--tenant <tenant>", "only this tenant's traffic")
    .option("--since <when>", "traffic window, scaled to 30 days", "30d")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("table"))
    .action(async (o: { useCase?: string; tenant?: string; since: string; format: "table" | "json" }) => {
      const now = deps.now();
      const since = parseSince(o.since, now);
      const until = new Date(Math.floor(now.getTime() / 1000) * 1000 + 1000);
      const tenant = nonEmpty(o.tenant, "--tenant");
      const rows = await withRuntime(async (rt) => {
        const jobs = await rt.jobs.all();
        const policy = deps.policy();
        if (o.useCase !== undefined) useCaseOf(policy, o.useCase);
        const data = await fetchDistillData(rt.query, rt.database, { since, until, tenant, useCase: o.useCase }, policy);
        const out: Advice[] = [];
        for (const uc of policy.useCases.values()) {
          if (o.useCase !== undefined && uc.useCase !== o.useCase) continue;
          const job = latestModel(jobs, uc.useCase, tenant ?? null) ?? latestModel(jobs, uc.useCase);
          const trained = job?.fineTunedModel ? inferencePriceOf(deps.catalog, job.fineTunedModel) : null;
          const planned = uc.fineTuneBase && fineTunePriceOf(deps.catalog, uc.fineTuneBase.id) ? fineTunedModel(deps.catalog, `ft:${uc.fineTuneBase.id}:planned::advise`) : null;
          const candidate = trained ?? planned ?? uc.candidate;
          if (!candidate) continue;
          let training: { costNanoUsd: number; source: "job" | "estimate" } | null = job?.trainingCostNanoUsd != null ? { costNanoUsd: job.trainingCostNanoUsd, source: "job" } : null;
          if (!training && uc.fineTuneBase) {
            const sel = { useCase: uc.useCase, tenant, since: parseSince("90d", now) };
            const est = exportUseCase(await fetchSamples(rt.query, rt.database, sel), sel, uc, deps.catalog).summary.estimatedTrainingCostNanoUsd;
            if (est !== null && est > 0) training = { costNanoUsd: est, source: "estimate" };
          }
          const shadow = data.shadow.filter((r) => r.use_case === uc.useCase);
          const fo = shadow.reduce((a, r) => a + Number(r.frontier_output_sum), 0), co = shadow.reduce((a, r) => a + Number(r.candidate_output_sum), 0);
          out.push(advise({
            uc, candidate, candidateSource: trained ? "trained" : planned ? "planned" : "policy", volumes: data.volumes.filter((v) => v.use_case === uc.useCase),
            outputRatio: fo > 0 ? co / fo : 1, windowSeconds: (until.getTime() - since.getTime()) / 1000, training, catalog: deps.catalog,
          }));
        }
        return out;
      });
      deps.out(renderAdvice(rows, o.format));
    });
  return distill;
}

const fineTunedBaseOf = (m: ModelPrice): string | null => (m.id.startsWith("ft:") ? (m.id.split(":")[1] ?? null) : null);

export function renderJob(j: JobRecord, kind: "succeeded" | "waiting", format: "table" | "json", catalog: PriceCatalog): string {
  const { trainPromptHashes, ...rest } = j;
  if (format === "json") return `${JSON.stringify({ ...rest, trainPrompts: trainPromptHashes.length, trainingCostUsd: j.trainingCostNanoUsd === null ? null : nanoUsdToUsd(j.trainingCostNanoUsd) }, null, 2)}\n`;
  if (kind === "waiting") return `${j.jobId} is still ${j.status}: run the same command again to resume polling it\n`;
  const price = fineTunePriceOf(catalog, j.baseModel);
  return `fine-tuned model ${j.fineTunedModel} (job ${j.jobId}): ${j.trainedTokens?.toLocaleString("en-US") ?? "?"} trained tokens × $${price?.trainingPerMTok ?? "?"}/1M = ${j.trainingCostNanoUsd === null ? "-" : usd(j.trainingCostNanoUsd)} training cost (export estimate ${usd(j.estimatedCostNanoUsd)}); next: costwise distill evaluate --use-case ${j.useCase}\n`;
}

export function renderEvaluation(s: EvalSummary, refusedRows: number): string {
  const line = (label: string, m: EvalSummary["candidate"]) =>
    `${label} ${m.model}: ${m.agreed}/${m.decided} agree (${pct(m.agreement)}; Wilson 95% ${m.wilson ? `${pct(m.wilson.lower)}-${pct(m.wilson.upper)}` : "-"}; bootstrap 95% ${m.bootstrap ? `${pct(m.bootstrap.lower)}-${pct(m.bootstrap.upper)}` : "-"}), ${m.refused} refused, cost ${usd(m.costNanoUsd)}\n`;
  return (
    line("candidate", s.candidate) + (s.baseline ? line("baseline (untuned base)", s.baseline) : "") +
    `target: n>=${s.target.minSamples}, Wilson lower>=${pct(s.target.minAgreementLower)} → ${s.meets ? "met" : "not met"}: ${s.reason}\n` +
    (refusedRows > 0 ? `warning: ClickHouse refused ${refusedRows} comparison rows\n` : "") +
    `${JSON.stringify(s)}\n`
  );
}

export function renderAdvice(rows: readonly Advice[], format: "table" | "json"): string {
  if (format === "json") return `${JSON.stringify(rows, null, 2)}\n`;
  if (rows.length === 0) return "No use case with a candidate or fineTuneBase in the policy.\n";
  const t = new Table({ head: ["use case", "candidate", "calls/month", "cost/month", "on candidate", "shadow watch", "net saving/month", "training", "break-even calls", "break-even", "seed reference"] });
  for (const a of rows) {
    t.push([
      a.useCase, `${a.candidate} (${a.candidateSource})`, a.monthlyCalls.toLocaleString("en-US"), usd(a.monthlyCostNanoUsd), usd(a.monthlyCandidateCostNanoUsd), usd(a.monthlyShadowOverheadNanoUsd),
      usd(a.monthlyNetSavingNanoUsd), a.trainingCostNanoUsd === null ? "-" : `${usd(a.trainingCostNanoUsd)} (${a.trainingCostSource})`,
      a.breakEvenCalls === null ? "never" : a.breakEvenCalls.toLocaleString("en-US"), a.breakEvenMonths === null ? "-" : `${a.breakEvenMonths.toFixed(2)} months`,
      `${a.reference.band} (100k pays / 1M dominates)`,
    ]);
  }
  return `${t.toString()}\n${rows.map((a) => `${a.useCase}: ${a.verdict}\n`).join("")}${JSON.stringify(rows.map((a) => ({ useCase: a.useCase, breakEvenCalls: a.breakEvenCalls, breakEvenMonths: a.breakEvenMonths, trainingCostNanoUsd: a.trainingCostNanoUsd, monthlyCalls: a.monthlyCalls, monthlyNetSavingNanoUsd: a.monthlyNetSavingNanoUsd })))}\n`;
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
    get backoff() {
      return { initialMs: cfg().DISTILL_POLL_INITIAL_MS, maxMs: cfg().DISTILL_POLL_MAX_MS, factor: 2 };
    },
    get evalConcurrency() {
      return cfg().DISTILL_EVAL_CONCURRENCY;
    },
    policy: () => loadDistillPolicy(cfg().DISTILL_POLICY_FILE, currentCatalog),
    routerUseCases: () => io.routerUseCases(env, currentCatalog),
    open: async () => {
      const config = cfg();
      const ch = createClient({ url: config.CLICKHOUSE_URL, username: config.CLICKHOUSE_USER, password: config.CLICKHOUSE_PASSWORD, request_timeout: 120_000, log: { level: ClickHouseLogLevel.OFF } });
      const switches = redisDistillSwitchStore(config.REDIS_URL, { key: config.DISTILL_SWITCH_KEY });
      const routes = redisRouteStore(config.REDIS_URL, { prefix: config.ROUTER_REDIS_PREFIX, timeoutMs: 2_000 });
      const jobs = redisJobStore(config.REDIS_URL, { key: config.DISTILL_JOBS_KEY });
      const providers = createProviders(config, { catalog: currentCatalog, logger: createLogger({ service: "costwise-distill", level: "warn" }) });
      const writer = clickhouseWriter(ch, config.CLICKHOUSE_DATABASE);
      return {
        query: async <T>(q: string) => (await ch.query({ query: q, format: "JSONEachRow" })).json<T>(),
        database: config.CLICKHOUSE_DATABASE,
        switches,
        fallbacks: () => routes.fallbacks(),
        jobs,
        fineTune: openAiFineTuneApi(providers.openai, { timeoutMs: config.DISTILL_FINE_TUNE_TIMEOUT_MS }),
        chat: providers,
        writeShadow: async (rows) => (await insertIsolating(writer, DISTILL_TABLES.shadow, rows, (r) => r)).length,
        embedder: async () => {
          const { localEmbedder } = await import("@costwise/embeddings");
          return localEmbedder({ modelDir: config.DISTILL_EMBEDDING_MODEL_DIR, threads: 1 });
        },
        close: async () => {
          await Promise.all([ch.close(), switches.close(), routes.close(), jobs.close(), providers.close()]);
        },
      };
    },
  };
}
