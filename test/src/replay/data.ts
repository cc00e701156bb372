import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";

// The normalised formats of the evaluation data (cache_*, router_*, compress_*): only the fields
// the replay needs are checked, every other field passes through.

const CacheRowSchema = z.object({
  id: z.string().min(1),
  text: z.string().min(1),
  intent: z.string().min(1),
  is_oos: z.boolean().default(false),
});

const ModelOutcomeSchema = z.object({
  score: z.number().finite().nullable(),
  response: z.string().nullish(),
  response_chars: z.number().int().nonnegative().nullish(),
});

const RouterRowSchema = z.object({
  id: z.string().min(1),
  benchmark: z.string().min(1),
  prompt: z.string().min(1),
  turns: z.array(z.string()).nullish(),
  turn: z.number().int().positive().default(1),
  strong_model: z.string().nullable(),
  weak_model: z.string().nullable(),
  score_type: z.string().min(1),
  models: z.record(ModelOutcomeSchema),
});

const CompressRowSchema = z.object({
  id: z.string().min(1),
  question: z.string().min(1),
  answers: z.array(z.string().min(1)).min(1),
  passages: z.array(z.object({ title: z.string().nullish(), text: z.string() })).min(1),
});

export type DataKind = "cache" | "router" | "compress";
export type CacheRow = z.infer<typeof CacheRowSchema>;
export type RouterRow = z.infer<typeof RouterRowSchema>;
export type CompressRow = z.infer<typeof CompressRowSchema>;

/** One row of a data file, with where it came from (for error messages and the report). */
export type DataRow =
  | { kind: "cache"; file: string; dataset: string; line: number; row: CacheRow }
  | { kind: "router"; file: string; dataset: string; line: number; row: RouterRow }
  | { kind: "compress"; file: string; dataset: string; line: number; row: CompressRow };

export class ReplayDataError extends Error {
  override readonly name = "ReplayDataError";
}

const SCHEMAS = { cache: CacheRowSchema, router: RouterRowSchema, compress: CompressRowSchema } as const;

/** The format of a row, from the fields it carries (file names of held-out data may differ). */
export function detectKind(row: Record<string, unknown>): DataKind | null {
  if ("prompt" in row && "models" in row) return "router";
  if ("question" in row && "passages" in row) return "compress";
  if ("text" in row && "intent" in row) return "cache";
  return null;
}

/** The dataset name of a file: its folder for `<name>/dev.jsonl`, else the file name. */
export function datasetName(file: string): string {
  const base = path.basename(file).replace(/\.jsonl$/, "");
  return /^(dev|heldout|test|sample)$/.test(base) ? path.basename(path.dirname(file)) : base;
}

/**
 * Reads one JSONL file of a known format. Every row must be of the first row's format and carry
 * the fields that format needs; the error names the file, line, row id and fields.
 */
export function readDataFile(file: string, text: string = readFileSync(file, "utf8")): DataRow[] {
  const lines = text.split("\n");
  const out: DataRow[] = [];
  let kind: DataKind | null = null;
  const dataset = datasetName(file);
  lines.forEach((raw, i) => {
    if (raw.trim() === "") return;
    const line = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new ReplayDataError(`${file}:${line}: not JSON (${(err as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ReplayDataError(`${file}:${line}: a row must be a JSON object`);
    const rowKind = detectKind(value as Record<string, unknown>);
    if (kind === null) {
      if (rowKind === null) {
        throw new ReplayDataError(`${file}:${line}: unknown format (a cache_* row has text+intent, a router_* row prompt+models, a compress_* row question+passages)`);
      }
      kind = rowKind;
    }
    const parsed = SCHEMAS[kind].safeParse(value);
    const id = typeof (value as { id?: unknown }).id === "string" ? (value as { id: string }).id : "(no id)";
    if (!parsed.success) {
      const fields = parsed.error.issues.map((iss) => `${iss.path.join(".") || "row"}: ${iss.message}`).join("; ");
      throw new ReplayDataError(`${file}:${line} (row ${id}): not a valid ${kind} row: ${fields}`);
    }
    out.push({ kind, file, dataset, line, row: parsed.data } as DataRow);
  });
  if (out.length === 0) throw new ReplayDataError(`${file}: no rows`);
  const ids = new Set<string>();
  for (const r of out) {
    if (ids.has(r.row.id)) throw new ReplayDataError(`${r.file}:${r.line}: duplicate row id ${r.row.id}`);
    ids.add(r.row.id);
  }
  return out;
}
