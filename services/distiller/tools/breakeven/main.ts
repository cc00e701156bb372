/**
 * Break-even of fine-tuning per demo use case, from data files:
 *
 *   npm run eval:distill -- --data <file.jsonl>=<use case> … [--n 300] [--seed 1] [--base gpt-4o-mini] [--epochs 3]
 *
 * Use cases as the replay names them: support-chat (cache_* rows), math-answers (router gsm8k rows),
 * general-assistant (router mt-bench / mmlu rows), kb-answers (compress_* rows). Each row becomes
 * the request the replay sends (the caller's model: gpt-4o, claude-sonnet-4-5 for kb-answers). The
 * frontier answer is the one the data records for the strong model when it has one, else the
 * provider's answer (the emulator without a key: its length is synthetic, say so when reporting).
 * The rows are split like `distill export` (dedup, format checks, 10% validation), the training
 * cost is train tokens × epochs × the base's training price, and `advise` gives the break-even
 * calls against the same calls' per-call prices (caller's model now vs the fine-tuned base, the
 * frontier shadow watch at the policy default 5% charged). Prints a table, then a JSON summary.
 */
import { readFileSync } from "node:fs";
import { catalog, fineTunedModel, findModel, nanoUsdToUsd } from "@costwise/pricing";
import { createProviders, providersConfigSchema } from "@costwise/providers";
import { renderContext, type Message } from "@costwise/schemas";
import { seededRandom, shuffle } from "@costwise/seeded";
import { silentLogger } from "@costwise/stream-runtime";
import { advise, REFERENCE_CALLS } from "../../src/advise.ts";
import { promptHash } from "../../src/capture.ts";
import { exportUseCase, type SampleRow } from "../../src/export.ts";
import { compileDistillPolicy } from "../../src/policy.ts";
import type { VolumeRow } from "../../src/status.ts";

const SYSTEMS: Record<string, string> = {
  "support-chat": "You are the support assistant of an online bank. Answer the customer's question in two or three sentences.",
  "math-answers": "Solve the problem step by step. End with a last line of the form '#### <answer>'.",
  "general-assistant": "",
  "kb-answers": "Answer from the provided context only.",
};
const CALLER: Record<string, { model: string; maxTokens: number }> = {
  "support-chat": { model: "gpt-4o", maxTokens: 256 },
  "math-answers": { model: "gpt-4o", maxTokens: 1024 },
  "general-assistant": { model: "gpt-4o", maxTokens: 2048 },
  "kb-answers": { model: "claude-sonnet-4-5", maxTokens: 300 },
};

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : dflt;
};
const data = args.flatMap((a, i) => (args[i - 1] === "--data" ? [a] : []));
if (data.length === 0) throw new Error("usage: --data <file.jsonl>=<use case> [--data …] [--n 300] [--seed 1] [--base gpt-4o-mini] [--epochs 3]");
const n = Number(opt("--n", "300")), seed = Number(opt("--seed", "1")), base = opt("--base", "gpt-4o-mini"), epochs = Number(opt("--epochs", "3"));

const providers = createProviders(providersConfigSchema.parse(process.env), { catalog, logger: silentLogger });
type Row = Record<string, unknown>;
const userText = (useCase: string, r: Row): string => {
  if (useCase === "kb-answers") return `${renderContext((r["passages"] as { title: string; text: string }[]).map((p, i) => ({ id: String(i), text: `${p.title}: ${p.text}`, score: 1 })))}\n\nQuestion: ${String(r["question"])}`;
  return String(r["text"] ?? r["prompt"] ?? (r["turns"] as string[] | undefined)?.[0] ?? "");
};
const recorded = (r: Row): string | null => {
  const models = r["models"] as Record<string, { response?: string | null; response_chars?: number }> | undefined;
  const strong = models && typeof r["strong_model"] === "string" ? models[r["strong_model"]] : undefined;
  if (!strong) return null;
  return strong.response ?? (strong.response_chars ? "x ".repeat(Math.ceil(strong.response_chars / 2)).slice(0, strong.response_chars) : null);
};

const results = [];
for (const spec of data) {
  const [file, useCase] = spec.split("=") as [string, string];
  const caller = CALLER[useCase];
  if (!caller) throw new Error(`unknown use case ${useCase} (${Object.keys(CALLER).join(", ")})`);
  const rows = shuffle(readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Row), seededRandom(seed)).slice(0, n);
  const model = findModel(catalog, caller.model)!;
  const samples: SampleRow[] = [];
  let input = 0, output = 0, fromData = 0;
  for (const [i, r] of rows.entries()) {
    const messages: Message[] = [...(SYSTEMS[useCase] ? [{ role: "system", content: SYSTEMS[useCase]! }] : []), { role: "user", content: userText(useCase, r) }];
    const got = await providers.chat({ model: model.id, messages, maxTokens: caller.maxTokens, requestId: `breakeven-${i}` });
    const answer = recorded(r) ?? got.content;
    if (recorded(r)) fromData++;
    input += got.usage.inputTokens;
    output += recorded(r) ? Math.max(1, Math.round(answer.length / 4)) : got.usage.outputTokens;
    samples.push({ request_id: `r${i}`, tenant: "demo", message_roles: messages.map((m) => m.role), message_contents: messages.map((m) => m.content), completion: answer, prompt_hash: promptHash(messages), quality: 0, has_quality: 0, captured_at: "2026-12-01 00:00:00" });
    if ((i + 1) % 100 === 0) process.stderr.write(`${useCase}: ${i + 1}/${rows.length}\n`);
  }
  const uc = compileDistillPolicy({ version: 1, useCases: { [useCase]: { fineTuneBase: base, export: { epochs } } } }, "breakeven", catalog).useCases.get(useCase)!;
  const { summary } = exportUseCase(samples, { useCase, since: new Date(0) }, uc, catalog);
  const volumes: VolumeRow[] = [{ tenant: "demo", use_case: useCase, model_used: model.id, served_by: "REALTIME", calls_n: String(rows.length), input_sum: String(input), cached_input_sum: "0", output_sum: String(output) }];
  const ft = fineTunedModel(catalog, `ft:${base}:demo::breakeven`)!;
  const a = advise({ uc, candidate: ft, candidateSource: "planned", volumes, outputRatio: 1, windowSeconds: 30 * 86_400, training: { costNanoUsd: summary.estimatedTrainingCostNanoUsd ?? 0, source: "estimate" }, catalog });
  results.push({
    useCase, file, rows: rows.length, answersFromData: fromData, caller: model.id, candidate: ft.id, trainExamples: summary.train.examples, trainTokens: summary.train.tokens, epochs,
    trainingCostUsd: nanoUsdToUsd(summary.estimatedTrainingCostNanoUsd ?? 0), perCallNowUsd: a.monthlyCostNanoUsd / rows.length / 1e9,
    perCallNetSavingUsd: a.perCallNetSavingNanoUsd === null ? null : a.perCallNetSavingNanoUsd / 1e9, breakEvenCalls: a.breakEvenCalls,
    paybackDaysAt100k: a.breakEvenCalls === null ? null : (a.breakEvenCalls / REFERENCE_CALLS.pays) * 30, paybackDaysAt1M: a.breakEvenCalls === null ? null : (a.breakEvenCalls / REFERENCE_CALLS.dominates) * 30,
  });
}
await providers.close();
for (const r of results) {
  process.stdout.write(`${r.useCase}: ${r.trainExamples} examples, ${r.trainTokens} tokens × ${r.epochs} epochs → training $${r.trainingCostUsd.toFixed(4)}; per call now $${r.perCallNowUsd.toFixed(6)}, net saving $${r.perCallNetSavingUsd?.toFixed(6) ?? "-"}; break-even ${r.breakEvenCalls ?? "never"} calls\n`);
}
process.stdout.write(`${JSON.stringify({ seed, base, epochs, results })}\n`);
