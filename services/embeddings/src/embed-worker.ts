// The worker side of `threadedEmbedder`: one model per worker thread, loaded at its first task.
import { getPriority } from "node:os";
import { threadId, workerData } from "node:worker_threads";
import type { Embedder } from "./embedder.ts";
import { localEmbedder } from "./local.ts";

export interface WorkerOptions {
  modelDir: string;
  threads?: number;
  name?: string;
  loadTimeoutMs?: number;
}

export type WorkerTask = { kind: "describe" } | { kind: "embed"; texts: readonly string[] };
export interface WorkerInfo {
  name: string;
  dimensions: number;
  /** The thread the model runs on (0 is the main thread). */
  threadId: number;
  /** This thread's nice value (Linux keeps one per thread). */
  nice: number;
}
export type WorkerResult = WorkerInfo | Float32Array[];

let model: Promise<Embedder> | undefined;

export default async function task(t: WorkerTask): Promise<WorkerResult> {
  model ??= localEmbedder(workerData as WorkerOptions);
  const m = await model;
  if (t.kind === "describe") return { name: m.name, dimensions: m.dimensions, threadId, nice: getPriority() };
  return (await m.embed(t.texts)).map((e) => e.vector as Float32Array);
}
