import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { generatedMarkers, writeGeneratedBlock } from "./report.ts";

describe("generated Markdown blocks", () => {
  it("rewrites only its own block, default or named, and keeps the hand-written text", () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), "report-")), "doc.md");
    const named = generatedMarkers("heldout");
    writeFileSync(file, `intro\n${generatedMarkers().start}\nold\n${generatedMarkers().end}\nmiddle\n${named.start}\nold named\n${named.end}\nend\n`);
    writeGeneratedBlock(file, "new default");
    writeGeneratedBlock(file, "new named", "heldout");
    expect(readFileSync(file, "utf8")).toBe(`intro\n${generatedMarkers().start}\nnew default\n${generatedMarkers().end}\nmiddle\n${named.start}\nnew named\n${named.end}\nend\n`);
  });

  it("refuses a block name that could break the markers", () => {
    expect(() => generatedMarkers("a -->")).toThrow(RangeError);
  });
});
