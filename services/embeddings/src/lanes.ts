import PQueue from "p-queue";
import { EmbeddingError, type Embedder } from "./embedder.ts";

export interface EmbedderLanes {
  /** Work a request waits on (a lookup's query): always run before any background call waiting. */
  readonly foreground: Embedder;
  /** Work nobody waits on (learning an answer, judging): runs when no foreground call is waiting. */
  readonly background: Embedder;
  /** Calls waiting in each lane (not yet started). */
  waiting(): { foreground: number; background: number };
  close(): Promise<void>;
}

const FOREGROUND = 1;
const BACKGROUND = 0;

/**
 * Two priorities over one model. A local model runs one call at a time per worker, in the order
 * calls arrive: after a burst of answers to learn, a lookup's query would wait behind every one of
 * them. Here at most `inFlight` calls (the model's workers) reach `inner` at once, and the next one
 * started is a waiting foreground call if there is any, so a lookup waits for at most the background
 * calls already running. Put batching in front of each lane, not behind: a batch then never mixes
 * the two.
 */
export function embedderLanes(inner: Embedder, opts: { inFlight?: number; /** Longest a call waits for its turn (default 30 s); the inner call has its own deadline. */ maxWaitMs?: number } = {}): EmbedderLanes {
  const queue = new PQueue({ concurrency: Math.max(1, opts.inFlight ?? 1) });
  const maxWaitMs = opts.maxWaitMs ?? 30_000;
  let waitingForeground = 0;
  let abandoned = 0;
  let closed = false;
  const lane = (priority: number): Embedder => ({
    name: inner.name,
    dimensions: inner.dimensions,
    embed(texts) {
      if (closed) return Promise.reject(new EmbeddingError("the embedder is closed"));
      if (texts.length === 0) return Promise.resolve([]);
      const foreground = priority === FOREGROUND;
      if (foreground) waitingForeground++;
      return new Promise((resolve, reject) => {
        let gaveUp = false;
        const timer = setTimeout(() => {
          gaveUp = true;
          abandoned++;
          if (foreground) waitingForeground--;
          reject(new EmbeddingError(`no model run started within ${maxWaitMs} ms (${queue.size} calls waiting)`));
        }, maxWaitMs);
        queue
          .add(
            () => {
              clearTimeout(timer);
              // Its caller has stopped waiting: the turn passes to the next call.
              if (gaveUp) {
                abandoned--;
                return Promise.resolve(null);
              }
              if (foreground) waitingForeground--;
              if (closed) return Promise.reject(new EmbeddingError("the embedder is closed"));
              return inner.embed(texts);
            },
            // p-queue types the result as possibly void unless a timeout would throw; there is none here.
            { priority, throwOnTimeout: true },
          )
          .then(
            (v) => {
              if (!gaveUp) resolve(v!);
            },
            (err: unknown) => {
              if (!gaveUp) reject(err);
            },
          );
      });
    },
  });
  return {
    foreground: lane(FOREGROUND),
    background: lane(BACKGROUND),
    waiting: () => ({ foreground: waitingForeground, background: Math.max(0, queue.size - waitingForeground - abandoned) }),
    async close() {
      // Calls still waiting fail at once instead of hanging; the ones running end on their own deadline.
      closed = true;
      await queue.onIdle();
      await inner.close?.();
    },
  };
}
