import { describe, expect, it } from "vitest";
import { catalog, findModel } from "./catalog.ts";
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
    expect(lifecycleStatus(catalog, "claude-sonnet-4-5", "2026-11-29").status).toBe("deprecated");
    expect(lifecycleStatus(catalog, "claude-sonnet-4-5-20250929", "2026-11-30").status).toBe("retired");
    expect(lifecycleStatus(catalog, "gpt-4o-2024-08-06", "2027-01-13").status).toBe("deprecated");
  });

  it("serves a retired model by its documented successor when the catalog can price it", () => {
    expect(servedSuccessor(catalog, "claude-sonnet-4-5", "2026-12-02")).toBe("claude-sonnet-5-5");
    expect(servedSuccessor(catalog, "gpt-4o", "2027-01-14")).toBe("gpt-6-luna");
    expect(servedSuccessor(catalog, "gpt-5", "2026-12-11")).toBe("gpt-6.1-sol");
    // Not retired yet: the caller's model serves.
    expect(servedSuccessor(catalog, "gpt-4o", "2027-01-13")).toBeNull();
    // claude-sonnet-4-6 is the documented successor but not in this catalog; gpt-5-nano names none.
    expect(servedSuccessor(catalog, "claude-sonnet-4", "2026-12-02")).toBeNull();
    expect(servedSuccessor(catalog, "gpt-5-nano", "2026-12-11")).toBeNull();
  });

  it("every documented successor in the catalog is itself served, so a substitution never lands on a retired model", () => {
    for (const [id, lc] of Object.entries(LIFECYCLE)) {
      const next = lc.successor ? findModel(catalog, lc.successor) : undefined;
      if (next) expect(lifecycleStatus(catalog, next.id, "2027-06-01").status, `${id} → ${next.id}`).not.toBe("retired");
    }
  });

  it("follows a chain of retired successors and stops on a cycle", () => {
    const lc = (retiresOn: string, successor: string | null) => ({ deprecatedOn: null, retiresOn, successor, source: "test table, not a real schedule", checked: "2026-12-02" });
    const chain = { "gpt-4o": lc("2027-01-14", "gpt-4.1"), "gpt-4.1": lc("2027-02-01", "gpt-6-luna") };
    expect(servedSuccessor(catalog, "gpt-4o", "2027-01-20", chain)).toBe("gpt-4.1");
    expect(servedSuccessor(catalog, "gpt-4o", "2027-02-01", chain)).toBe("gpt-6-luna");
    const cycle = { "gpt-4o": lc("2027-01-14", "gpt-4.1"), "gpt-4.1": lc("2027-01-14", "gpt-4o") };
    expect(servedSuccessor(catalog, "gpt-4o", "2027-02-01", cycle)).toBeNull();
  });
});
