import { describe, expect, it } from "vitest";
import { extraPorts, pipelineServices } from "./services.ts";

const router = pipelineServices.find((s) => s.name === "router")!;

describe("extra ports of a service instance", () => {
  it("leaves the defaults to an instance on its default port", () => {
    expect(extraPorts(router, router.metricsPort, {})).toEqual({});
  });
  it("gives a replica or benchmark instance any free port for the router's shadow loop", () => {
    expect(extraPorts(router, router.metricsPort + 100, {})).toEqual({ ROUTER_SHADOW_METRICS_PORT: "0" });
  });
  it("keeps a port the caller set", () => {
    expect(extraPorts(router, 40123, { ROUTER_SHADOW_METRICS_PORT: "40124" })).toEqual({});
  });
});
