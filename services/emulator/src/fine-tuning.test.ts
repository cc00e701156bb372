import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autoEpochs } from "./fine-tuning.ts";
import { createEmulator, type Emulator } from "./server.ts";

// The official SDK against the emulator, on a clock the test moves: the job lifecycle is a function of time.
let emulator: Emulator;
let openai: OpenAI;
let now = Date.UTC(2026, 10, 30, 12, 0, 0);

const example = (i: number) => ({ messages: [{ role: "system", content: "Label the message." }, { role: "user", content: `Where is my card ${i}?` }, { role: "assistant", content: `card-status ${i}` }] });
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
const upload = async (text: string, purpose: "fine-tune" | "batch" = "fine-tune") => (await openai.files.create({ file: await toFile(Buffer.from(text), "train.jsonl"), purpose })).id;

beforeAll(async () => {
  emulator = createEmulator({ clock: () => now, fineTuning: { validatingMs: 1_000, queuedMs: 2_000, runningMs: 10_000 } });
  const url = await emulator.start(0);
  openai = new OpenAI({ apiKey: "test", baseURL: `${url}/v1`, maxRetries: 0, timeout: 5_000 });
});
afterAll(() => emulator.stop());

describe("OpenAI fine-tuning jobs on the emulator", () => {
  it("runs validating_files → queued → running → succeeded, bills trained tokens × epochs and serves the ft: model", async () => {
    const training = await upload(jsonl(Array.from({ length: 12 }, (_, i) => example(i))));
    const job = await openai.fineTuning.jobs.create({ model: "gpt-4o-mini", training_file: training, suffix: "support", method: { type: "supervised", supervised: { hyperparameters: { n_epochs: 3 } } } });
    expect(job).toMatchObject({ object: "fine_tuning.job", status: "validating_files", model: "gpt-4o-mini-2024-07-18", fine_tuned_model: null, trained_tokens: null, training_file: training });
    const before = `ft:gpt-4o-mini-2024-07-18:emulator:support:${job.id.slice(6, 14)}`;
    await expect(openai.chat.completions.create({ model: before, messages: [{ role: "user", content: "hi" }] })).rejects.toMatchObject({ status: 404, code: "model_not_found" });

    now += 1_500;
    expect((await openai.fineTuning.jobs.retrieve(job.id)).status).toBe("queued");
    now += 2_000;
    expect((await openai.fineTuning.jobs.retrieve(job.id)).status).toBe("running");
    now += 10_000;
    const done = await openai.fineTuning.jobs.retrieve(job.id);
    expect(done).toMatchObject({ status: "succeeded", fine_tuned_model: before, error: null });
    expect(done.trained_tokens! % 3).toBe(0);
    expect(done.result_files).toHaveLength(1);
    expect((await openai.files.retrieve(done.result_files[0]!)).purpose).toBe("fine-tune-results");

    const events = [];
    for await (const e of openai.fineTuning.jobs.listEvents(job.id, { limit: 5 })) events.push(e);
    expect(events[0]!.message).toBe("The job has successfully completed");
    expect(events.at(-1)!.message).toMatch(/^Validating training file/);
    expect(events.some((e) => e.type === "metrics")).toBe(true);

    const models = [];
    for await (const m of openai.models.list()) models.push(m.id);
    expect(models).toContain(before);
    // A trained prompt gets its trained answer; any other prompt an answer of the fine-tuned model's own.
    const trained = await openai.chat.completions.create({ model: before, messages: example(4).messages.slice(0, 2) as OpenAI.ChatCompletionMessageParam[] });
    expect(trained.choices[0]!.message.content).toBe("card-status 4");
    expect(trained.model).toBe(before);
    const other = await openai.chat.completions.create({ model: before, messages: [{ role: "user", content: "Something never trained on" }] });
    expect(other.choices[0]!.message.content).not.toBe("");
    await expect(openai.fineTuning.jobs.cancel(job.id)).rejects.toMatchObject({ status: 400 });
  });

  it("fails a job whose training file has too few examples or an invalid line, with the API's error", async () => {
    const few = await openai.fineTuning.jobs.create({ model: "gpt-4.1-nano", training_file: await upload(jsonl([example(1), example(2)])) });
    const badLine = await openai.fineTuning.jobs.create({ model: "gpt-4o-mini", training_file: await upload(`${jsonl(Array.from({ length: 11 }, (_, i) => example(i)))}{"messages":[{"role":"user","content":"no answer"}]}\n`) });
    now += 1_000;
    expect(await openai.fineTuning.jobs.retrieve(few.id)).toMatchObject({ status: "failed", fine_tuned_model: null, error: { code: "invalid_n_examples", param: "training_file", message: "Training file has 2 example(s), but must have at least 10 examples" } });
    expect(await openai.fineTuning.jobs.retrieve(badLine.id)).toMatchObject({ status: "failed", error: { code: "invalid_training_file", message: expect.stringContaining("Line 12: the last message must be the assistant's answer") } });
  });

  it("refuses what the API refuses at creation: unknown or non-tunable models, missing files, wrong purpose", async () => {
    const file = await upload(jsonl(Array.from({ length: 10 }, (_, i) => example(i))));
    await expect(openai.fineTuning.jobs.create({ model: "gpt-5", training_file: file })).rejects.toMatchObject({ status: 400, code: "model_not_available" });
    await expect(openai.fineTuning.jobs.create({ model: "gpt-4o-mini", training_file: "file-nope" })).rejects.toMatchObject({ status: 400, param: "training_file" });
    await expect(openai.fineTuning.jobs.create({ model: "gpt-4o-mini", training_file: await upload("{}\n", "batch") })).rejects.toMatchObject({ status: 400, code: "invalid_file_purpose" });
    await expect(openai.fineTuning.jobs.retrieve("ftjob-nope")).rejects.toMatchObject({ status: 404 });
  });

  it("cancels a running job: it never produces a model", async () => {
    const job = await openai.fineTuning.jobs.create({ model: "gpt-4o-mini", training_file: await upload(jsonl(Array.from({ length: 10 }, (_, i) => example(100 + i)))) });
    now += 4_000;
    expect((await openai.fineTuning.jobs.cancel(job.id)).status).toBe("cancelled");
    now += 60_000;
    const after = await openai.fineTuning.jobs.retrieve(job.id);
    expect(after).toMatchObject({ status: "cancelled", fine_tuned_model: null });
    const listed = [];
    for await (const j of openai.fineTuning.jobs.list({ limit: 2 })) listed.push(j.id);
    expect(listed[0]).toBe(job.id);
    expect(listed.length).toBeGreaterThanOrEqual(4);
  });

  it("chooses epochs like OpenAI's auto setting", () => {
    expect([autoEpochs(10), autoEpochs(30), autoEpochs(1_000), autoEpochs(20_000)]).toEqual([10, 3, 3, 1]);
  });
});
