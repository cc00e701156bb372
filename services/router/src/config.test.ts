import { describe, expect, it } from "vitest";
import { loadRouterConfig } from "./config.ts";

describe("loadRouterConfig", () => {
  it("finds both local models under COSTWISE_HOME", () => {
    const c = loadRouterConfig({ COSTWISE_HOME: "/srv/cw" });
    expect(c.ROUTER_EMBEDDING_MODEL_DIR).toBe("/srv/cw/models/bge-small-en-v1.5-q");
    expect(c.ROUTER_SHADOW_EMBEDDING_MODEL_DIR).toBe("/srv/cw/models/all-MiniLM-L6-v2");
  });
  it("keeps directories set explicitly", () => {
    const c = loadRouterConfig({ COSTWISE_HOME: "/srv/cw", ROUTER_SHADOW_EMBEDDING_MODEL_DIR: "/opt/minilm" });
    expect(c.ROUTER_SHADOW_EMBEDDING_MODEL_DIR).toBe("/opt/minilm");
  });
});
