import { describe, expect, it } from "vitest";
import { catalog } from "@costwise/pricing";
import type { ExportSet, ExportSummary } from "./export.ts";
import type { FineTuneApi, FineTuneJobView } from "./finetune-api.ts";
import { memoryJobStore } from "./jobs.ts";
import { policyOf } from "./testing/fixtures.ts";
import { runTrain, suffixOf } from "./train.ts";

const uc = policyOf({ version: 1, useCases: { "support-chat": { fineTuneBase: "gpt-4o-mini", export: { epochs: 2 } } } } as never).useCases.get("support-chat")!;

const exampleSet = (n: number): { set: ExportSet; summary: ExportSummary } => {
  const train = Array.from({ length: n }, (_, i) => ({ requestId: `r${i}`, promptHash: `h${i}`, messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }], tokens: 100 }));
  return {
    set: { rows: n, duplicates: 0, invalid: [], train, validation: [] },
    summary: { useCase: "support-chat", tenant: null, since: "", capturedRows: n, duplicates: 0, invalid: 0, invalidExamples: [], train: { examples: n, tokens: 100 * n }, validation: { examples: 0, tokens: 0 }, model: "gpt-4o-mini", epochs: 2, trainingPricePerMTok: "3.00", estimatedTrainingCostNanoUsd: 600 * n, estimatedTrainingCostUsd: 0, priceSource: "", warnings: [] },
  };
};

/** A fake provider whose job walks through the statuses given, one per retrieve. */
function fakeApi(statuses: FineTuneJobView["status"][], last: Partial<FineTuneJobView> = {}) {
  const calls: string[] = [];
  let polls = 0;
  const view = (status: FineTuneJobView["status"]): FineTuneJobView => ({ id: "ftjob-1", status, model: "gpt-4o-mini-2024-07-18", fineTunedModel: null, trainedTokens: null, error: null, ...(status === statuses.at(-1) ? last : {}) });
  const api: FineTuneApi = {
    upload: async (name) => (calls.push(`upload ${name}`), { id: `file-${calls.length}` }),
    create: async (p) => (calls.push(`create ${p.model} ${p.suffix} epochs=${p.epochs}`), view("validating_files")),
    retrieve: async () => (calls.push("retrieve"), view(statuses[Math.min(polls++, statuses.length - 1)]!)),
    cancel: async () => (calls.push("cancel"), view("cancelled")),
    events: async () => [{ message: "Training file has 3 example(s)", level: "error" }],
  };
  return { api, calls };
}

const clockDeps = () => {
  let t = 1_000_000;
  const waits: number[] = [];
  return { now: () => t, sleep: async (ms: number) => void (waits.push(ms), (t += ms)), waits };
};

describe("distill train", () => {
  it("exports, uploads, creates, stores the job id at once, polls with backoff and records the model and its training cost", async () => {
    const { api, calls } = fakeApi(["queued", "running", "running", "succeeded"], { fineTunedModel: "ft:gpt-4o-mini-2024-07-18:acme:support-chat:x1", trainedTokens: 24_000 });
    const store = memoryJobStore();
    const clock = clockDeps();
    const lines: string[] = [];
    const out = await runTrain({ uc, tenant: null, exportSet: async () => exampleSet(12), waitMs: 3_600_000 }, { api, store, catalog, ...clock, progress: (l) => lines.push(l), backoff: { initialMs: 1_000, maxMs: 3_000, factor: 2 } });
    expect(out.kind).toBe("succeeded");
    expect(calls.slice(0, 2)).toEqual(["upload support-chat.train.jsonl", "create gpt-4o-mini support-chat epochs=2"]);
    expect(clock.waits).toEqual([1_000, 2_000, 3_000, 3_000]);
    // 24,000 trained tokens × $3.00/M = $0.072.
    expect(out.job).toMatchObject({ status: "succeeded", fineTunedModel: "ft:gpt-4o-mini-2024-07-18:acme:support-chat:x1", trainedTokens: 24_000, trainingCostNanoUsd: 72_000_000, trainExamples: 12, trainPromptHashes: expect.arrayContaining(["h0", "h11"]) });
    expect((await store.get("ftjob-1"))!.status).toBe("succeeded");
    expect(lines.some((l) => l.includes("queued → running"))).toBe(true);
  });

  it("stops waiting at the deadline and a new run resumes the stored job instead of creating another", async () => {
    const store = memoryJobStore();
    const first = fakeApi(["running"]);
    const clock = clockDeps();
    const waiting = await runTrain({ uc, tenant: null, exportSet: async () => exampleSet(12), waitMs: 2_500 }, { api: first.api, store, catalog, ...clock, progress: () => {}, backoff: { initialMs: 1_000, maxMs: 8_000, factor: 2 } });
    expect(waiting).toMatchObject({ kind: "waiting", job: { status: "running" } });
    const second = fakeApi(["succeeded"], { fineTunedModel: "ft:gpt-4o-mini-2024-07-18:acme::x2", trainedTokens: 1_000 });
    const resumed = await runTrain({ uc, tenant: null, exportSet: async () => { throw new Error("a resumed job needs no export"); }, waitMs: 60_000 }, { api: second.api, store, catalog, ...clock, progress: () => {} });
    expect(resumed).toMatchObject({ kind: "succeeded", resumed: true, job: { jobId: "ftjob-1", trainingCostNanoUsd: 3_000_000 } });
    expect(second.calls).toEqual(["retrieve"]);
  });

  it("refuses too few examples before uploading anything", async () => {
    const { api, calls } = fakeApi(["succeeded"]);
    await expect(runTrain({ uc, tenant: "acme", exportSet: async () => exampleSet(3), waitMs: 1 }, { api, store: memoryJobStore(), catalog, ...clockDeps(), progress: () => {} })).rejects.toThrow(
      "support-chat (tenant acme) has 3 training example(s) after deduplication (3 captured, 0 duplicates, 0 invalid): OpenAI needs at least 10",
    );
    expect(calls).toEqual([]);
  });

  it("a failed or cancelled job, or a model the catalog cannot price, is a clear error", async () => {
    const failed = fakeApi(["failed"], { error: { code: "invalid_n_examples", message: "Training file has 3 example(s), but must have at least 10 examples" } });
    await expect(runTrain({ uc, tenant: null, exportSet: async () => exampleSet(12), waitMs: 60_000 }, { api: failed.api, store: memoryJobStore(), catalog, ...clockDeps(), progress: () => {} })).rejects.toThrow(
      "fine-tuning job ftjob-1 failed (invalid_n_examples: Training file has 3 example(s), but must have at least 10 examples); nothing to switch to",
    );
    const cancelled = fakeApi(["cancelled"]);
    await expect(runTrain({ uc, tenant: null, exportSet: async () => exampleSet(12), waitMs: 60_000 }, { api: cancelled.api, store: memoryJobStore(), catalog, ...clockDeps(), progress: () => {} })).rejects.toThrow("was cancelled; nothing to switch to");
    const odd = fakeApi(["succeeded"], { fineTunedModel: "ft:mystery-base:acme::x", trainedTokens: 10 });
    await expect(runTrain({ uc, tenant: null, exportSet: async () => exampleSet(12), waitMs: 60_000 }, { api: odd.api, store: memoryJobStore(), catalog, ...clockDeps(), progress: () => {} })).rejects.toThrow("fine-tuned model ft:mystery-base:acme::x cannot be priced");
  });

  it("names the job after the use case in a suffix OpenAI accepts", () => {
    expect(suffixOf("Support Chat/EU")).toBe("support-chat-eu");
    expect(suffixOf("---")).toBe("costwise");
  });
});
