import { describe, expect, it } from "vitest";
import { catalog } from "./catalog.ts";
import { LIFECYCLE, lifecycleStatus, servedSuccessor } from "./lifecycle.ts";

describe("model lifecycle", () => {
  it("every lifecycle entry is a catalog model with a source and ordered dates", () => {
    for (const [id, lc] of Object.entries(LIFECYCLE)) {
      expect(catalog.models.some((m) => m.id === id), id).toBe(true);
      expect(lc.source.length).toBeGreaterThan(10);
      if (lc.deprecatedOn && lc.retiresOn) expect(lc.deprecatedOn < lc.retiresOn, id).toBe(true);
    }
  });

  it("a model is deprecated before its retirement date and retired from it on, by id or alias", () => {
    expect(lifecycleStatus(catalog, "gpt-4.1-nano", "2026-10-22").status).toBe("deprecated");
    expect(lifecycleStatus(catalog, "gpt-4.1-nano", "2026-10-23").status).toBe("retired");
    expect(lifecycleStatus(catalog, "claude-haiku-4-5", "2026-12-02").status).toBe("active");
    expect(lifecycleStatus(catalog, "claude-sonnet-4-5", "2026-12-02").status).toBe("deprecated");
  });

  it("names a successor only when the catalog can price it", () => {
    // claude-sonnet-4-6 is the documented successor but not in this catalog yet.
    expect(servedSuccessor(catalog, "claude-sonnet-4", "2026-12-02")).toBeNull();
    expect(servedSuccessor(catalog, "gpt-4o", "2026-12-02")).toBeNull();
  });
});
