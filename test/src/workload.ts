import { readFileSync } from "node:fs";
import { newRequest, type LlmRequest } from "@costwise/schemas";

interface BankingRow { id: string; text: string; intent: string }
interface XquadRow { id: string; question: string; answers: string[]; passages: { title: string; text: string }[] }

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const readJsonl = <T>(name: string): T[] =>
  readFileSync(fixture(name), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as T);

export const bankingSample = (): BankingRow[] => readJsonl<BankingRow>("banking77-sample.jsonl");
export const xquadSample = (): XquadRow[] => readJsonl<XquadRow>("xquad-sample.jsonl");

/** A use case of the sample workload: who sends it, to which model, built from which rows. */
export interface UseCaseSpec {
  readonly tenant: string;
  readonly useCase: string;
  readonly model: string;
  readonly share: number;
  readonly build: (i: number, id: string, now: number) => LlmRequest;
}

const SUPPORT_SYSTEM = "You are the support assistant of an online bank. Answer the customer's question in two or three sentences.";

export function sampleUseCases(): UseCaseSpec[] {
  const banking = bankingSample();
  const intents = [...new Set(banking.map((r) => r.intent))].sort();
  const xquad = xquadSample();
  const row = <T>(rows: T[], i: number): T => rows[i % rows.length]!;
  return [
    {
      tenant: "acme-bank", useCase: "support-chat", model: "gpt-4o", share: 0.45,
      build: (i, id, now) => newRequest({
        request_id: id, tenant: "acme-bank", use_case: "support-chat", model: "gpt-4o", temperature: 0, max_tokens: 256, created_at: now,
        messages: [{ role: "system", content: SUPPORT_SYSTEM }, { role: "user", content: row(banking, i).text }],
      }),
    },
    {
      tenant: "globex-bank", useCase: "intent-triage", model: "gpt-4o-mini", share: 0.25,
      build: (i, id, now) => newRequest({
        request_id: id, tenant: "globex-bank", use_case: "intent-triage", model: "gpt-4o-mini", temperature: 0, max_tokens: 16, created_at: now,
        messages: [{ role: "user", content: `Classify the customer message into one of: ${intents.join(", ")}.\nReply with the label only.\n\nMessage: ${row(banking, i * 7 + 3).text}` }],
      }),
    },
    {
      tenant: "initech", useCase: "kb-answers", model: "claude-sonnet-4-5", share: 0.2,
      build: (i, id, now) => {
        const q = row(xquad, i);
        return newRequest({
          request_id: id, tenant: "initech", use_case: "kb-answers", model: "claude-sonnet-4-5", max_tokens: 300, created_at: now,
          messages: [{ role: "system", content: "Answer from the provided context only." }, { role: "user", content: q.question }],
          context: q.passages.map((p, k) => ({ id: `${q.id.split(":")[1]}-${k}`, text: p.text, score: 1 - k * 0.1 })),
        });
      },
    },
    {
      tenant: "acme-bank", useCase: "weekly-digest", model: "gpt-4o-mini", share: 0.1,
      build: (i, id, now) => newRequest({
        request_id: id, tenant: "acme-bank", use_case: "weekly-digest", model: "gpt-4o-mini", max_tokens: 200, created_at: now,
        latency_class: "BATCH", deadline_ms: now + 24 * 3600_000,
        messages: [{ role: "user", content: `Summarise this customer contact for the weekly digest: "${row(banking, i * 13 + 5).text}"` }],
      }),
    },
  ];
}

/** `n` requests spread over the use cases by share, deterministic for a given run id. */
export function sampleWorkload(n: number, runId: string, now = Date.now()): LlmRequest[] {
  const cases = sampleUseCases();
  const out: LlmRequest[] = [];
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    // Weighted round-robin keeps the mix exact for any n and the order interleaved.
    const pos = (i * 0.618034) % 1;
    let acc = 0;
    const uc = cases.find((c) => (acc += c.share) > pos) ?? cases[0]!;
    const k = counts.get(uc.useCase) ?? 0;
    counts.set(uc.useCase, k + 1);
    out.push(uc.build(k, `${runId}-${uc.useCase}-${String(k).padStart(5, "0")}`, now));
  }
  return out;
}
