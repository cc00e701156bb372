import { fileURLToPath } from "node:url";
import { readQaJsonl, type QaRow } from "./dataset.ts";

/** The XQuAD sample shipped with the repo (60 questions, CC BY-SA 4.0): tests and the benchmark use it. */
export const XQUAD_SAMPLE_PATH = fileURLToPath(new URL("../../../test/fixtures/xquad-sample.jsonl", import.meta.url));

export const xquadSample = (): QaRow[] => readQaJsonl(XQUAD_SAMPLE_PATH);
