import { describe, expect, it } from "vitest";
import { counterSum, cpuSeconds, histogramDelta, histogramQuantile, percentile, readHistogram } from "./stats.ts";

describe("percentile", () => {
  it("uses the nearest rank", () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile(v, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe("histograms from /metrics", () => {
  const text = (n: number) => [
    "# HELP costwise_input_age_seconds Age",
    `costwise_input_age_seconds_bucket{le="0.005",topic="a",service="x"} ${n}`,
    `costwise_input_age_seconds_bucket{le="0.05",topic="a",service="x"} ${2 * n}`,
    `costwise_input_age_seconds_bucket{le="+Inf",topic="a",service="x"} ${4 * n}`,
    `costwise_input_age_seconds_sum{topic="a",service="x"} ${n}`,
    `costwise_input_age_seconds_count{topic="a",service="x"} ${4 * n}`,
    `costwise_input_age_seconds_bucket{le="0.005",topic="b",service="x"} 100`,
    `costwise_input_age_seconds_count{topic="b",service="x"} 100`,
    `costwise_input_age_seconds_sum{topic="b",service="x"} 1`,
    `costwise_other_seconds_count 7`,
  ].join("\n");

  it("sums the matching series and reads percentiles from the gained buckets", () => {
    const d = histogramDelta(readHistogram(text(1), "costwise_input_age_seconds", { topic: "a" }), readHistogram(text(3), "costwise_input_age_seconds", { topic: "a" }));
    expect(d.count).toBe(8);
    expect(d.sum).toBe(2);
    expect(histogramQuantile(d, 25)).toBe(0.005);
    expect(histogramQuantile(d, 50)).toBe(0.05);
    expect(histogramQuantile(d, 99)).toBe(Number.POSITIVE_INFINITY);
    expect(readHistogram(text(1), "costwise_input_age_seconds").count).toBe(104);
    expect(histogramQuantile(readHistogram("", "x"), 50)).toBeNaN();
  });
});

describe("cpuSeconds", () => {
  it("reads a live process's CPU time, growing as it works, and nothing for a process that is gone", async () => {
    const before = (await cpuSeconds(process.pid))!;
    const until = Date.now() + 150;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    const after = (await cpuSeconds(process.pid))!;
    expect(before).toBeGreaterThanOrEqual(0);
    expect(after - before).toBeGreaterThanOrEqual(0.05);
    expect(await cpuSeconds(2 ** 22 + 7)).toBeUndefined();
  });
});

describe("counterSum", () => {
  it("adds a counter's label sets and nothing of counters that only share its prefix", () => {
    const text = ['# TYPE c_total counter', 'c_total{result="stored"} 3', 'c_total{result="exists"} 4.5', "c_total_other 100", "c_total 1"].join("\n");
    expect(counterSum(text, "c_total")).toBe(8.5);
    expect(counterSum(text, "missing_total")).toBe(0);
  });
});
