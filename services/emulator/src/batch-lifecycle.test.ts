import { describe, expect, it } from "vitest";
import { anthropicBatchPhase, openAiBatchCancellable, openAiBatchPhase, processedBy, type BatchTimeline } from "./batch-lifecycle.ts";

const timeline = (overrides: Partial<BatchTimeline> = {}): BatchTimeline => ({
  createdAt: 10_000,
  validatingMs: 1_000,
  inProgressMs: 4_000,
  finalizingMs: 1_000,
  total: 100,
  validationFailed: false,
  expire: false,
  cancelRequestedAt: null,
  ...overrides,
});

describe("OpenAI batch lifecycle", () => {
  it("moves validating → in_progress → finalizing → completed as time passes", () => {
    const t = timeline();
    expect(openAiBatchPhase(t, 10_500)).toMatchObject({ status: "validating", processed: 0, terminal: false, inProgressAt: null });
    expect(openAiBatchPhase(t, 11_000)).toMatchObject({ status: "in_progress", processed: 0, inProgressAt: 11_000 });
    expect(openAiBatchPhase(t, 13_000)).toMatchObject({ status: "in_progress", processed: 50 });
    expect(openAiBatchPhase(t, 15_000)).toMatchObject({ status: "finalizing", processed: 100, finalizingAt: 15_000, completedAt: null });
    expect(openAiBatchPhase(t, 16_000)).toMatchObject({ status: "completed", processed: 100, terminal: true, completedAt: 16_000, finalizingAt: 15_000 });
  });

  it("fails at the end of validation when the input was invalid", () => {
    const phase = openAiBatchPhase(timeline({ validationFailed: true, total: 0 }), 11_000);
    expect(phase).toMatchObject({ status: "failed", terminal: true, failedAt: 11_000, inProgressAt: null });
  });

  it("expires at the end of the window with half the requests done", () => {
    const t = timeline({ expire: true });
    expect(openAiBatchPhase(t, 13_000)).toMatchObject({ status: "in_progress", processed: 25 });
    expect(openAiBatchPhase(t, 15_000)).toMatchObject({ status: "expired", processed: 50, expiredAt: 15_000, terminal: true });
  });

  it("cancels through cancelling → cancelled, keeping the work done before the cancel", () => {
    const t = timeline({ cancelRequestedAt: 12_000 });
    expect(openAiBatchPhase(t, 12_500)).toMatchObject({ status: "cancelling", processed: 25, cancellingAt: 12_000, cancelledAt: null });
    expect(openAiBatchPhase(t, 13_000)).toMatchObject({ status: "cancelled", processed: 25, terminal: true, cancelledAt: 13_000, inProgressAt: 11_000 });
    expect(openAiBatchPhase(t, 11_900)).toMatchObject({ status: "in_progress" });
  });

  it("only accepts a cancel before the batch has finished", () => {
    expect(openAiBatchCancellable(timeline(), 10_100)).toBe(true);
    expect(openAiBatchCancellable(timeline(), 12_000)).toBe(true);
    expect(openAiBatchCancellable(timeline(), 16_000)).toBe(false);
    expect(openAiBatchCancellable(timeline({ validationFailed: true }), 12_000)).toBe(false);
  });

  it("finishes instantly with zero durations", () => {
    const t = timeline({ validatingMs: 0, inProgressMs: 0, finalizingMs: 0 });
    expect(openAiBatchPhase(t, 10_000)).toMatchObject({ status: "completed", processed: 100 });
    expect(processedBy(t, 10_000)).toBe(100);
  });
});

describe("Anthropic batch lifecycle", () => {
  it("is in_progress until processing and finalizing are over, then ended", () => {
    const t = timeline();
    expect(anthropicBatchPhase(t, 10_000)).toMatchObject({ status: "in_progress", processed: 0 });
    expect(anthropicBatchPhase(t, 14_000)).toMatchObject({ status: "in_progress", processed: 75 });
    expect(anthropicBatchPhase(t, 15_500)).toMatchObject({ status: "in_progress", processed: 100 });
    expect(anthropicBatchPhase(t, 16_000)).toMatchObject({ status: "ended", processed: 100, remainder: "none", endedAt: 16_000 });
  });

  it("goes through canceling, leaving the remainder canceled", () => {
    const t = timeline({ cancelRequestedAt: 13_000 });
    expect(anthropicBatchPhase(t, 13_500)).toMatchObject({ status: "canceling", processed: 50, cancelInitiatedAt: 13_000, endedAt: null });
    expect(anthropicBatchPhase(t, 14_000)).toMatchObject({ status: "ended", processed: 50, remainder: "canceled", endedAt: 14_000 });
  });

  it("ends with the remainder expired when the window runs out", () => {
    expect(anthropicBatchPhase(timeline({ expire: true }), 15_000)).toMatchObject({ status: "ended", processed: 50, remainder: "expired" });
  });
});
