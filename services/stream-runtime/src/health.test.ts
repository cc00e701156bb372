import { describe, expect, it } from "vitest";
import { healthStatusCode, livenessStatusCode, ServiceHealth } from "./health.ts";

describe("service health", () => {
  it("is starting during the steps, names the step, and ready once the consumer has joined", async () => {
    const h = new ServiceHealth();
    let release!: () => void;
    const step = h.step("kafka: connect the producer", () => new Promise<void>((r) => (release = r)));
    expect(h.snapshot()).toMatchObject({ status: "starting", step: "kafka: connect the producer" });
    release();
    await step;
    let joined = false;
    h.running(() => joined);
    expect(h.status()).toBe("starting");
    joined = true;
    expect(h.snapshot()).toMatchObject({ status: "ready", stepsDone: ["kafka: connect the producer"], reasons: {} });
  });

  it("is degraded while a dependency fails or the consumer left its group after being ready, and recovers", () => {
    const h = new ServiceHealth();
    let joined = true;
    h.running(() => joined);
    expect(h.status()).toBe("ready");
    h.degrade("produce", "sending outputs fails: KafkaJSConnectionError");
    expect(h.snapshot()).toMatchObject({ status: "degraded", reasons: { produce: expect.stringMatching(/KafkaJSConnectionError/) } });
    h.recover("produce");
    joined = false;
    expect(h.snapshot()).toMatchObject({ status: "degraded", reasons: { consumer: expect.stringMatching(/consumer group/) } });
    joined = true;
    expect(h.status()).toBe("ready");
  });

  it("is ready only once every loop of the process runs (a service and its shadow loop)", () => {
    const h = new ServiceHealth();
    h.loopStarting();
    h.running(() => true);
    expect(h.status()).toBe("ready");
    h.loopStarting();
    expect(h.status()).toBe("starting");
    let second = false;
    h.running(() => second);
    expect(h.status()).toBe("degraded");
    second = true;
    expect(h.status()).toBe("ready");
  });

  it("maps states to probe codes: degraded still serves, failed is the only liveness failure", () => {
    const h = new ServiceHealth();
    h.running(() => true);
    h.fail("consumer crashed and will not restart");
    expect(h.status()).toBe("failed");
    expect([healthStatusCode("ready"), healthStatusCode("degraded"), healthStatusCode("starting"), healthStatusCode("stopping"), healthStatusCode("failed")]).toEqual([200, 200, 503, 503, 503]);
    expect([livenessStatusCode("starting"), livenessStatusCode("degraded"), livenessStatusCode("failed")]).toEqual([200, 200, 503]);
  });
});
