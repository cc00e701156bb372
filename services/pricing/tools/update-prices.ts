/**
 * `npm run pricing:update -- [--from <price list json>] [--snippet <model>]... [--all] [--check]`
 *
 * Compares the catalog with LiteLLM's community price list and prints what to change: prices that
 * differ, catalog models the list lacks, chat models the list has and the catalog does not (with a
 * reviewed-by-hand TypeScript entry via --snippet), and retirement dates that disagree with
 * src/lifecycle.ts. Without --from it downloads the newest `litellm` wheel from PyPI (pip, no
 * dependencies, into $COSTWISE_HOME/prices) and reads the list inside it. It never edits the
 * catalog: prices are reviewed and written by a person (see README "Updating prices").
 * Last line: one JSON object {"source", "differences", "not_listed", "missing", "lifecycle_differences"}.
 */
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs, promisify } from "node:util";
import { catalog } from "../src/catalog.ts";
import { LIFECYCLE } from "../src/lifecycle.ts";
import { comparePrices, entrySnippet, missingModels, type PriceList } from "./price-list.ts";

const run = promisify(execFile);
const LIST_IN_WHEEL = "litellm/model_prices_and_context_window_backup.json";

async function fromPyPI(home: string): Promise<{ list: PriceList; source: string }> {
  const dir = join(home, "prices");
  await mkdir(dir, { recursive: true });
  console.error(`[pricing] downloading the newest litellm wheel from PyPI into ${dir} (pip, no dependencies)`);
  await run("python3", ["-m", "pip", "download", "litellm", "--no-deps", "--only-binary=:all:", "-q", "-d", dir], { timeout: 300_000 });
  const wheels = (await readdir(dir)).filter((f) => /^litellm-.*\.whl$/.test(f)).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const wheel = wheels.at(-1);
  if (!wheel) throw new Error(`pip left no litellm wheel in ${dir}`);
  console.error(`[pricing] reading ${LIST_IN_WHEEL} from ${wheel}`);
  const { stdout } = await run(
    "python3",
    ["-c", "import sys, zipfile; sys.stdout.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]).decode())", join(dir, wheel), LIST_IN_WHEEL],
    { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return { list: JSON.parse(stdout) as PriceList, source: wheel };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { from: { type: "string" }, snippet: { type: "string", multiple: true }, all: { type: "boolean" }, check: { type: "boolean" } },
  });
  const home = resolve(process.env.COSTWISE_HOME ?? ".costwise");
  const { list, source } = values.from
    ? { list: JSON.parse(await readFile(values.from, "utf8")) as PriceList, source: values.from }
    : await fromPyPI(home);

  const { differences, notListed } = comparePrices(catalog, list);
  console.log(`catalog ${catalog.version} vs ${source}`);
  console.log(differences.length === 0 ? "prices: all listed catalog prices agree" : "prices that differ:");
  for (const d of differences) console.log(`  ${d.model.padEnd(24)} ${d.field.padEnd(20)} catalog ${d.catalog.padEnd(10)} list ${d.priceList}`);
  if (notListed.length > 0) console.log(`catalog models the list does not have: ${notListed.join(", ")}`);

  const lifecycle: string[] = [];
  for (const [id, lc] of Object.entries(LIFECYCLE)) {
    const listed = list[id]?.deprecation_date;
    if (listed && listed !== lc.retiresOn) lifecycle.push(`  ${id.padEnd(24)} retiresOn ${lc.retiresOn ?? "unknown"}  list deprecation_date ${listed}`);
  }
  if (lifecycle.length > 0) console.log(["retirement dates that differ (check the provider's page before changing src/lifecycle.ts):", ...lifecycle].join("\n"));

  const missing = missingModels(catalog, list);
  console.log(`chat models listed for openai/anthropic but not in the catalog: ${missing.length}`);
  for (const id of values.all ? missing : missing.slice(0, 20)) {
    const e = list[id]!;
    console.log(`  ${id.padEnd(28)} in ${e.input_cost_per_token ?? "?"} out ${e.output_cost_per_token ?? "?"} USD/token${e.deprecation_date ? `, deprecation ${e.deprecation_date}` : ""}`);
  }
  if (!values.all && missing.length > 20) console.log(`  … ${missing.length - 20} more (--all)`);
  for (const id of values.snippet ?? []) {
    const e = list[id];
    if (!e) throw new Error(`--snippet ${id}: not in the price list`);
    console.log(`\n// ${id}, from ${source}: check every number on the provider's pricing page\n${entrySnippet(id, e)}`);
  }
  console.log(JSON.stringify({ source, differences: differences.length, not_listed: notListed.length, missing: missing.length, lifecycle_differences: lifecycle.length }));
  if (values.check && (differences.length > 0 || lifecycle.length > 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`pricing:update failed: ${(err as Error).message}`);
  process.exitCode = 2;
});
