import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { DatasetError } from "../errors.ts";
import { routeInputFromTurns, type RouteInput } from "../input.ts";

/** One router dev row (format: ../shared/data/README.md, "ROUTER rows"). */
const rowSchema = z.object({
  id: z.string(),
  dataset: z.string(),
  benchmark: z.string(),
  group_id: z.string(),
  category: z.string().nullish(),
  prompt: z.string(),
  turn: z.number().int().default(1),
  turns: z.array(z.string()).nullish(),
  strong_model: z.string().nullish(),
  weak_model: z.string().nullish(),
  score_type: z.string(),
  models: z.record(z.object({ score: z.number().nullable(), response: z.string().nullish() }).passthrough()),
  meta: z.object({ routellm_contaminated: z.boolean().optional() }).passthrough().default({}),
});
export type RouterRow = z.infer<typeof rowSchema>;

export interface EvalRow {
  readonly id: string;
  readonly groupId: string;
  readonly category: string | null;
  readonly input: RouteInput;
  readonly strong: number;
  readonly weak: number;
  /** The weak model's answer, where the dataset keeps it (GSM8K), for cascade checks. */
  readonly weakResponse: string | null;
  /** Length of each model's answer where the dataset records it (GSM8K, MT-bench, ZeroEval), for pricing a call. */
  readonly responseChars: { readonly strong: number | null; readonly weak: number | null };
  readonly contaminated: boolean;
}

export interface EvalSet {
  readonly name: string;
  /** The source benchmark (mmlu, gsm8k, mt_bench): sets of one benchmark share prompts. */
  readonly benchmark: string;
  readonly file: string;
  readonly scoreType: string;
  readonly strongModel: string;
  readonly weakModel: string;
  /** The file itself names the pair (the RouteLLM sets), rather than the caller choosing one. */
  readonly pairNamed: boolean;
  readonly rows: readonly EvalRow[];
  /** Rows left out: contaminated (when asked) or without a score for one of the pair. */
  readonly dropped: { readonly contaminated: number; readonly unscored: number };
}

export interface LoadOptions {
  /** Used when the rows name no pair (router_zeroeval_gsm8k has 42 models). */
  readonly strong?: string;
  readonly weak?: string;
  /** Drop rows RouteLLM flagged as overlapping its own router training data (its evaluation does). */
  readonly dropContaminated?: boolean;
}

export function readRouterRows(file: string): RouterRow[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new DatasetError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const rows: RouterRow[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    const parsed = rowSchema.safeParse(JSON.parse(line));
    if (!parsed.success) throw new DatasetError(`${file}:${i + 1}: not a router row: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`);
    rows.push(parsed.data);
  });
  if (rows.length === 0) throw new DatasetError(`${file} has no rows`);
  return rows;
}

/** The conversation the router would see at this turn: every user turn up to and including it. */
function turnsOf(r: RouterRow): string[] {
  return r.turns && r.turns.length >= r.turn ? r.turns.slice(0, r.turn) : [r.prompt];
}

export function loadEvalSet(file: string, opts: LoadOptions = {}): EvalSet {
  const raw = readRouterRows(file);
  const first = raw[0]!;
  const strongModel = first.strong_model ?? opts.strong;
  const weakModel = first.weak_model ?? opts.weak;
  if (!strongModel || !weakModel) {
    throw new DatasetError(`${file} names no strong/weak pair: pass --strong and --weak (models: ${Object.keys(first.models).slice(0, 6).join(", ")}, …)`);
  }
  for (const m of [strongModel, weakModel]) {
    if (!(m in first.models)) throw new DatasetError(`${file}: model ${m} is not in the rows (have ${Object.keys(first.models).join(", ")})`);
  }
  let contaminated = 0, unscored = 0;
  const rows: EvalRow[] = [];
  for (const r of raw) {
    const isContaminated = r.meta.routellm_contaminated === true;
    if (opts.dropContaminated && isContaminated) { contaminated++; continue; }
    const s = r.models[strongModel]?.score, w = r.models[weakModel]?.score;
    if (s === null || s === undefined || w === null || w === undefined) { unscored++; continue; }
    rows.push({
      id: r.id, groupId: r.group_id, category: r.category ?? null, input: routeInputFromTurns(turnsOf(r)),
      strong: s, weak: w, weakResponse: r.models[weakModel]?.response ?? null, contaminated: isContaminated,
      responseChars: { strong: charsOf(r.models[strongModel]), weak: charsOf(r.models[weakModel]) },
    });
  }
  if (rows.length === 0) throw new DatasetError(`${file}: no row has scores for both ${strongModel} and ${weakModel}`);
  return { name: path.basename(path.dirname(file)) || path.basename(file), benchmark: first.benchmark, file, scoreType: first.score_type, strongModel, weakModel, pairNamed: Boolean(first.strong_model && first.weak_model), rows, dropped: { contaminated, unscored } };
}

function charsOf(m: { response?: string | null | undefined; response_chars?: unknown } | undefined): number | null {
  if (!m) return null;
  if (typeof m.response_chars === "number" && Number.isFinite(m.response_chars)) return m.response_chars;
  return typeof m.response === "string" ? m.response.length : null;
}

/** The label a router learns: 1 when the strong model scored higher than the weak one. */
export function strongWins(r: Pick<EvalRow, "strong" | "weak">): 0 | 1 {
  return r.strong > r.weak ? 1 : 0;
}

/** The strong/weak pair a file names, from its first row; null when it names none. */
export function namedPair(file: string): { strong: string; weak: string } | null {
  const line = readFileSync(file, "utf8").split("\n", 1)[0] ?? "";
  const first = rowSchema.safeParse(JSON.parse(line));
  if (!first.success) throw new DatasetError(`${file}:1: not a router row`);
  return first.data.strong_model && first.data.weak_model ? { strong: first.data.strong_model, weak: first.data.weak_model } : null;
}
