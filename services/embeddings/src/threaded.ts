import { Piscina } from "piscina";
import { EmbeddingError, type Embedder } from "./embedder.ts";
import type { WorkerInfo, WorkerOptions, WorkerResult, WorkerTask } from "./embed-worker.ts";

/**
 * `localEmbedder` on a worker thread. onnxruntime-node runs a model synchronously on the calling
 * thread, so a service embedding on its event loop takes no Kafka batch, timer or heartbeat while
 * a run lasts (a run of sixteen long answers holds it for most of a second). Here the loop only
 * posts texts and takes vectors back. The model loads once per worker; `workers` threads each hold
 * a copy. Every call has a deadline: a run past it ends its worker (a native run cannot be
 * interrupted otherwise) and the next call starts a fresh one.
 */
export async function threadedEmbedder(
  opts: WorkerOptions & {
    workers?: number;
    /** Deadline of one call (default 30 s). */
    timeoutMs?: number;
    /**
     * Work off the request path (a shadow judge, a distillation scorer): its threads run at nice +10,
     * so on a busy machine the CPU goes to the stages a request waits on and this work lags instead.
     */
    background?: boolean;
  },
): Promise<Embedder & { readonly threadId: number; /** The worker thread's nice value as it runs. */ readonly nice: number }> {
  const self = import.meta.url;
  // From the sources (tsx, vitest) the worker is TypeScript and needs the same loader.
  const source = self.endsWith(".ts");
  const pool = new Piscina({
    filename: new URL(source ? "./embed-worker.ts" : "./embed-worker.js", self).href,
    workerData: { modelDir: opts.modelDir, threads: opts.threads, name: opts.name, loadTimeoutMs: opts.loadTimeoutMs } satisfies WorkerOptions,
    minThreads: opts.workers ?? 1,
    maxThreads: opts.workers ?? 1,
    idleTimeout: Number.POSITIVE_INFINITY,
    // Linux sets a nice value per thread, and the threads onnxruntime starts inherit it.
    niceIncrement: opts.background ? 10 : 0,
    ...(source ? { execArgv: [...process.execArgv.filter((a) => a !== "--import" && a !== "tsx"), "--import", "tsx"] } : {}),
  });
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const call = async <R extends WorkerResult>(task: WorkerTask, ms: number): Promise<R> => {
    try {
      return (await pool.run(task, { signal: AbortSignal.timeout(ms) })) as R;
    } catch (err) {
      if (err instanceof EmbeddingError) throw err;
      const e = err as Error;
      const reason = e.name === "AbortError" || e.name === "TimeoutError" ? `did not finish within ${ms} ms` : e.message;
      throw new EmbeddingError(`embedding on the worker thread failed: ${reason}`, { cause: err });
    }
  };
  let info: WorkerInfo;
  try {
    info = await call<WorkerInfo>({ kind: "describe" }, (opts.loadTimeoutMs ?? 60_000) + 5_000);
  } catch (err) {
    await pool.destroy();
    throw err;
  }
  return {
    name: info.name,
    dimensions: info.dimensions,
    threadId: info.threadId,
    nice: info.nice,
    async embed(texts) {
      if (texts.length === 0) return [];
      const vectors = await call<Float32Array[]>({ kind: "embed", texts }, timeoutMs);
      return vectors.map((vector) => ({ vector, costNanoUsd: 0 }));
    },
    close: () => pool.destroy(),
  };
}
