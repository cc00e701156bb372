import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { predict, trainClassifier, type ClassifierModel, type TrainOptions } from "../classifier.ts";
import { cascadeCheck } from "../cascade.ts";
import type { UseCasePolicy } from "../policy.ts";
import { difficultyScore, llmRouterMessages, parseDifficulty, type ChatPort } from "../strategies/llm.ts";
import { scoreRules } from "../strategies/rules.ts";
import { strongWins, type EvalSet } from "./dataset.ts";
import { groupFolds } from "./folds.ts";
import type { CurvePoint } from "./metrics.ts";

/** One score per row of the set (higher: send to the strong model). */
export type Scores = number[];

/** A non-learned baseline: longer conversations are harder. */
export function lengthScores(set: EvalSet): Scores {
  return set.rows.map((r) => Math.log1p(r.input.userText.length));
}

export function rulesScores(set: EvalSet, uc: UseCasePolicy): Scores {
  return set.rows.map((r) => scoreRules(uc.rules, uc.baseScore, r.input).score);
}

export function modelScores(set: EvalSet, model: ClassifierModel): Scores {
  return set.rows.map((r) => predict(model, r.input));
}

/**
 * Out-of-fold classifier scores: k folds by group, each scored by a model trained on the other
 * k−1. The only honest in-domain number when the dev set is all there is.
 */
export function classifierCvScores(set: EvalSet, opts: { folds: number; seed: number; train?: TrainOptions; onFold?: () => void }): Scores {
  const folds = groupFolds(set.rows.map((r) => r.groupId), opts.folds, opts.seed);
  const scores = new Array<number>(set.rows.length).fill(0);
  for (let f = 0; f < opts.folds; f++) {
    const train = set.rows.filter((_, i) => folds[i] !== f).map((r) => ({ input: r.input, label: strongWins(r) }));
    const model = trainClassifier(train, opts.train);
    set.rows.forEach((r, i) => {
      if (folds[i] === f) scores[i] = predict(model, r.input);
    });
    opts.onFold?.();
  }
  return scores;
}

/** Trained on other benchmarks only: how the router does on a domain it has never seen. */
export function classifierTransferScores(set: EvalSet, others: readonly EvalSet[], train?: TrainOptions): Scores {
  const model = trainClassifier(others.flatMap((o) => o.rows.map((r) => ({ input: r.input, label: strongWins(r) }))), train);
  return modelScores(set, model);
}

/** Did this model see the set's file in training? (The model file records the sha256 of each training file.) */
export function modelSawFile(model: ClassifierModel, file: string): boolean {
  const sha = createHash("sha256").update(readFileSync(file)).digest("hex");
  const files = (model.training as { files?: { sha256?: string }[] }).files ?? [];
  return files.some((f) => f.sha256 === sha);
}

export async function llmScores(set: EvalSet, uc: UseCasePolicy, chat: ChatPort, opts: { concurrency: number; onRow?: () => void }): Promise<{ scores: Scores; unreadable: number }> {
  const scores = new Array<number>(set.rows.length).fill(0);
  let unreadable = 0;
  let next = 0;
  const worker = async () => {
    while (next < set.rows.length) {
      const i = next++;
      const res = await chat.chat({ model: uc.llm.model.id, messages: llmRouterMessages(set.rows[i]!.input, uc.llm.maxPromptChars), maxTokens: 4, temperature: 0 });
      const d = parseDifficulty(res.content);
      if (d === null) unreadable++;
      scores[i] = d === null ? uc.llm.unparseableScore : difficultyScore(d);
      opts.onRow?.();
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return { scores, unreadable };
}

export interface CascadePoint {
  readonly point: CurvePoint;
  readonly escalated: number;
  readonly rows: number;
}

/**
 * A cascade is one operating point, not a curve: the weak model answers every row, and rows
 * whose weak answer fails the check are answered again by the strong model. Needs the weak
 * model's responses (router_routellm_gsm8k keeps them).
 */
export function cascadePoint(set: EvalSet, uc: UseCasePolicy): CascadePoint | null {
  if (set.rows.some((r) => r.weakResponse === null)) return null;
  let escalated = 0, total = 0;
  for (const r of set.rows) {
    const esc = !cascadeCheck({ content: r.weakResponse, finishReason: "stop" }, uc.cascade).pass;
    if (esc) escalated++;
    total += esc ? r.strong : r.weak;
  }
  return { point: { strongShare: escalated / set.rows.length, quality: total / set.rows.length }, escalated, rows: set.rows.length };
}
