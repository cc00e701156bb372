import type { LlmRequest } from "@costwise/schemas";
import type { PipelineClient } from "../client.ts";

export interface LoadOptions {
  readonly client: PipelineClient;
  readonly requests: readonly LlmRequest[];
  readonly ratePerSec: number;
  /** Called with the time each request was handed to Kafka (acknowledged). */
  readonly sentAt: Map<string, number>;
  /** A send that keeps failing (broker down) is retried this long before the drill gives up. */
  readonly sendDeadlineMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * A bounded, paced load: `requests` at `ratePerSec`, in ticks of 100 ms. A send that fails (the
 * broker is down) is retried like a real producer would, and the pace catches up afterwards; the
 * number of resends is returned (a resend may duplicate a request whose first send did land).
 */
export async function runLoad(opts: LoadOptions): Promise<{ resends: number; ms: number }> {
  const tickMs = 100;
  const t0 = Date.now();
  let next = 0;
  let resends = 0;
  const deadlineMs = opts.sendDeadlineMs ?? 120_000;
  while (next < opts.requests.length) {
    const due = Math.min(opts.requests.length, Math.ceil(((Date.now() - t0 + tickMs) / 1000) * opts.ratePerSec));
    const chunk = opts.requests.slice(next, due);
    if (chunk.length > 0) {
      const started = Date.now();
      for (let attempt = 1; ; attempt++) {
        try {
          await opts.client.produce(chunk, 500);
          break;
        } catch (err) {
          if (Date.now() - started > deadlineMs) throw new Error(`load: could not send for ${deadlineMs} ms: ${(err as Error).message}`);
          if (attempt === 1) opts.log?.(`send failed (${(err as Error).message}); retrying`);
          resends++;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      // Latency counts from the first attempt: a request held up by a broker outage waited that long.
      for (const r of chunk) if (!opts.sentAt.has(r.request_id)) opts.sentAt.set(r.request_id, started);
      next = due;
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  return { resends, ms: Date.now() - t0 };
}
