import { writeFile } from "node:fs/promises";
import { Command, CommanderError, Option } from "commander";
import { buildReview, parseQuarter } from "../review/build.ts";
import { renderReviewHtml, renderReviewMarkdown } from "../review/render.ts";
import { AnalyticsInputError } from "../errors.ts";
import { makeFilters } from "../filters.ts";
import type { QueryFn, Scope } from "../queries.ts";
import { buildAdvice, buildReport, buildSavings, renderAdvice, renderReport, renderSavings } from "../reports.ts";
import { FORMATS, type Format } from "../render.ts";
import { grainFor, type Grain, type SourceMode } from "../source.ts";

export interface CliDeps {
  /** Opens the ClickHouse connection on first use, so `--help` needs no server. */
  readonly connect: () => Promise<{ query: QueryFn; close: () => Promise<void> }>;
  readonly database: string;
  readonly defaultSource: SourceMode;
  readonly now: () => Date;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Where `review --out` writes (default: the file system). */
  readonly writeFile?: (path: string, text: string) => Promise<void>;
}

interface CommonOpts {
  since?: string;
  tenant?: string;
  useCase?: string;
  format: Format;
  exact?: boolean;
  by?: Grain;
}

function addCommon(cmd: Command, defaultSince: string): Command {
  return cmd
    .option("--since <when>", "window start: a duration back from now (24h, 30d, 2w) or a date (2025-06-01); widened to whole hours", defaultSince)
    .option("--tenant <tenant>", "only this tenant")
    .option("--use-case <useCase>", "only this use case")
    .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("table"))
    .option("--exact", "read llm_calls FINAL (exact under Kafka replays, slower on large windows) instead of the hourly rollup");
}

/**
 * The `costwise` command line. Other packages add their own subcommands to the returned program
 * (e.g. `costwise distill …`) before parsing.
 */
export function createProgram(deps: CliDeps): Command {
  const program = new Command("costwise")
    .description("Where the LLM money goes: cost, savings by technique and what to do next, from ClickHouse.")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: deps.out, writeErr: deps.err });

  const run = async (opts: CommonOpts, work: (q: QueryFn, scope: Scope) => Promise<string>) => {
    const filters = makeFilters({ since: opts.since, tenant: opts.tenant, useCase: opts.useCase }, deps.now());
    const scope: Scope = { database: deps.database, mode: opts.exact ? "exact" : deps.defaultSource, grain: opts.by ?? grainFor(filters), filters };
    const conn = await deps.connect();
    try {
      deps.out(await work(conn.query, scope));
    } finally {
      await conn.close();
    }
  };

  addCommon(program.command("report").description("cost per use case, cost structure and the trend"), "30d")
    .addOption(new Option("--by <bucket>", "granularity of the trend and of the window (default: hour up to 2 days, else day)").choices(["hour", "day"]))
    .action((opts: CommonOpts) => run(opts, async (q, s) => renderReport(await buildReport(q, s), opts.format)));

  addCommon(program.command("savings").description("what each technique saved against the naive frontier-only baseline"), "30d")
    .addOption(new Option("--by <bucket>", "granularity of the trend and of the window (default: hour up to 2 days, else day)").choices(["hour", "day"]))
    .action((opts: CommonOpts) => run(opts, async (q, s) => renderSavings(await buildSavings(q, s), opts.format)));

  addCommon(program.command("advise").description("the monthly run-rate, its spend band and where each technique would pay most"), "30d")
    .action((opts: CommonOpts) => run(opts, async (q, s) => renderAdvice(await buildAdvice(q, s), opts.format)));

  program
    .command("review")
    .description("the quarterly review: cost structure, cost per successful outcome against the baseline, hit rates, routes with measured quality, compression, next quarter's candidates")
    .requiredOption("--quarter <quarter>", "the calendar quarter in UTC, e.g. 2026Q4 (a quarter in progress is read up to now)")
    .option("--tenant <tenant>", "only this tenant")
    .option("--out <file>", "write a self-contained HTML report there (charts inline) and its Markdown twin next to it (.md); without it, print the Markdown")
    .action(async (opts: { quarter: string; tenant?: string; out?: string }) => {
      const quarter = parseQuarter(opts.quarter);
      const conn = await deps.connect();
      try {
        const review = await buildReview(conn.query, { database: deps.database, quarter, now: deps.now(), ...(opts.tenant ? { tenant: opts.tenant } : {}) });
        const markdown = renderReviewMarkdown(review);
        if (!opts.out) return void deps.out(markdown);
        const write = deps.writeFile ?? ((p: string, t: string) => writeFile(p, t, "utf8"));
        const mdPath = opts.out.replace(/\.html?$/i, "") + ".md";
        await write(opts.out, renderReviewHtml(review));
        await write(mdPath, markdown);
        deps.out(`costwise review ${quarter.label}: ${opts.out} and ${mdPath}\n`);
      } finally {
        await conn.close();
      }
    });

  return program;
}

/** Parse and run; returns the process exit code (0 ok, 1 failure, 2 usage error). */
export async function runCli(argv: readonly string[], deps: CliDeps, extend?: (program: Command) => void): Promise<number> {
  const program = createProgram(deps);
  extend?.(program);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof AnalyticsInputError) {
      deps.err(`costwise: ${err.message}\n`);
      return 2;
    }
    deps.err(`costwise: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
