import { describe, expect, it } from "vitest";
import { topics } from "@costwise/schemas";
import { DEFAULT_DISPATCH_POLICY, dispatchTopic } from "./dispatch.ts";

// The contract between compression and the batch accumulator: change the rule and these together.
describe("dispatchTopic", () => {
  const now = 1_700_000_000_000;
  const HOUR = 3_600_000;

  it("sends real-time requests to llm.requests.ready whatever their deadline", () => {
    expect(dispatchTopic({ latency_class: "REALTIME", deadline_ms: null }, DEFAULT_DISPATCH_POLICY, now)).toBe(topics.ready);
    expect(dispatchTopic({ latency_class: "REALTIME", deadline_ms: now + 48 * HOUR }, DEFAULT_DISPATCH_POLICY, now)).toBe(topics.ready);
  });

  it("sends BATCH requests with no deadline, or one at least an hour away by default, to llm.requests.batch", () => {
    expect(dispatchTopic({ latency_class: "BATCH", deadline_ms: null }, DEFAULT_DISPATCH_POLICY, now)).toBe(topics.batch);
    expect(dispatchTopic({ latency_class: "BATCH", deadline_ms: now + 24 * HOUR }, DEFAULT_DISPATCH_POLICY, now)).toBe(topics.batch);
    expect(dispatchTopic({ latency_class: "BATCH", deadline_ms: now + HOUR }, DEFAULT_DISPATCH_POLICY, now)).toBe(topics.batch);
  });

  it("sends BATCH requests whose deadline a batch cannot meet to real time", () => {
    expect(dispatchTopic({ latency_class: "BATCH", deadline_ms: now + HOUR - 1 }, DEFAULT_DISPATCH_POLICY, now)).toBe(topics.ready);
    expect(dispatchTopic({ latency_class: "BATCH", deadline_ms: now - 1 }, DEFAULT_DISPATCH_POLICY, now)).toBe(topics.ready);
  });

  it("uses the configured minimum", () => {
    expect(dispatchTopic({ latency_class: "BATCH", deadline_ms: now + 2 * HOUR }, { minBatchDeadlineMs: 3 * HOUR }, now)).toBe(topics.ready);
  });
});
