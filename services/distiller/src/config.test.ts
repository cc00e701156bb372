import { describe, expect, it } from "vitest";
import { loadDistillCliConfig, loadDistillerConfig } from "./config.ts";

describe("distiller config", () => {
  it("finds the local model under COSTWISE_HOME, in the service and the CLI", () => {
    expect(loadDistillerConfig({ COSTWISE_HOME: "/srv/cw" }).DISTILL_EMBEDDING_MODEL_DIR).toBe("/srv/cw/models/all-MiniLM-L6-v2");
    expect(loadDistillCliConfig({ COSTWISE_HOME: "/srv/cw" }).DISTILL_EMBEDDING_MODEL_DIR).toBe("/srv/cw/models/all-MiniLM-L6-v2");
  });
  it("keeps a directory set explicitly", () => {
    expect(loadDistillerConfig({ COSTWISE_HOME: "/srv/cw", DISTILL_EMBEDDING_MODEL_DIR: "/opt/m" }).DISTILL_EMBEDDING_MODEL_DIR).toBe("/opt/m");
  });
});
