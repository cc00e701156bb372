import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import multipart from "@fastify/multipart";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { pino, type Logger } from "pino";
import { EmulatorOptionsSchema, type EmulatorOptionsData } from "./config.ts";
import { EmulatorNotStartedError } from "./errors.ts";
import { registerAdminRoutes } from "./routes/admin.ts";
import { registerAnthropicRoutes } from "./routes/anthropic.ts";
import { registerBatchRoutes } from "./routes/batches.ts";
import type { RouteContext } from "./routes/context.ts";
import { registerFileRoutes } from "./routes/files.ts";
import { registerFineTuningRoutes } from "./routes/fine-tuning.ts";
import { installRequestHooks } from "./routes/hooks.ts";
import { registerOpenAiRoutes } from "./routes/openai.ts";
import { createEmulatorState, type EmulatorState } from "./state.ts";
import { encodeSse, eventDueMs, type StreamEvent } from "./stream.ts";

export interface EmulatorOptions extends EmulatorOptionsData {
  /** Structured logger; silent when omitted. */
  logger?: Logger;
  /** Clock in epoch milliseconds; batch lifecycles and cache TTLs follow it. */
  clock?: () => number;
}

export interface Emulator {
  readonly app: FastifyInstance;
  /** Base URL (`http://host:port`) once started. OpenAI clients use `${url}/v1`, Anthropic clients `url`. */
  readonly url: string;
  start(port?: number): Promise<string>;
  stop(): Promise<void>;
  readonly state: EmulatorState;
}

/** Lines computed ahead per background tick, per provider: keeps each tick to a few ms. */
const BATCH_WORK_PER_TICK = 200;
const BATCH_TICK_MS = 25;

/**
 * Builds the emulator: a fastify app speaking the OpenAI and Anthropic wire formats, plus an
 * admin API under `/_emulator`. Nothing listens until `start()`.
 */
export function createEmulator(options: EmulatorOptions = {}): Emulator {
  const { logger, clock, ...data } = options;
  const parsed = EmulatorOptionsSchema.parse(data);
  const state = createEmulatorState(parsed, clock);
  const held = new Set<() => void>();
  let ticker: NodeJS.Timeout | undefined;
  let listeningUrl: string | undefined;

  const app: FastifyInstance = Fastify({
    loggerInstance: (logger ?? pino({ level: "silent" })) as FastifyBaseLogger,
    // Per-request logs would dominate the cost of a request at thousands per second.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: parsed.limits.chatBodyBytes,
    forceCloseConnections: true,
  });

  app.register(multipart, { limits: { fileSize: parsed.limits.openAiBatchMaxFileBytes, files: 1, fields: 16 } });

  const baseUrlOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

  /** Waits for the configured time-to-first-token plus per-token generation time. */
  const generationDelay = async (outputTokens: number) => {
    const ms = state.config.ttftMs + state.config.perOutputTokenMs * outputTokens;
    if (ms > 0) await sleep(ms);
  };

  const sendStream = (reply: FastifyReply, events: StreamEvent[], outputTokens: number): FastifyReply => {
    reply.header("content-type", "text/event-stream; charset=utf-8").header("cache-control", "no-cache");
    const { ttftMs, perOutputTokenMs } = state.config;
    if (ttftMs === 0 && perOutputTokenMs === 0) return reply.send(events.map(encodeSse).join(""));
    const started = performance.now();
    async function* paced() {
      for (const event of events) {
        const wait = eventDueMs(event.progress, outputTokens, ttftMs, perOutputTokenMs) - (performance.now() - started);
        if (wait >= 1) await sleep(wait);
        yield encodeSse(event);
      }
    }
    return reply.send(Readable.from(paced()));
  };

  /** Holds a request unanswered until `ms` pass, the client goes away, or the emulator stops. */
  const hold = (reply: FastifyReply, ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        reply.raw.off("close", done);
        held.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      reply.raw.once("close", done);
      held.add(done);
    });

  installRequestHooks(app, { state, options: parsed, hold });
  const ctx: RouteContext = { state, options: parsed, generationDelay, sendStream, baseUrlOf };
  registerOpenAiRoutes(app, ctx);
  registerFileRoutes(app, ctx);
  registerBatchRoutes(app, ctx);
  registerFineTuningRoutes(app, ctx);
  registerAnthropicRoutes(app, ctx);
  registerAdminRoutes(app, ctx);

  const tick = () => {
    const now = state.now();
    if (state.openAiBatches.hasPendingWork()) state.openAiBatches.work(BATCH_WORK_PER_TICK, now);
    if (state.anthropicBatches.hasPendingWork()) state.anthropicBatches.work(BATCH_WORK_PER_TICK, now);
  };

  return {
    app,
    state,
    get url(): string {
      if (listeningUrl === undefined) throw new EmulatorNotStartedError();
      return listeningUrl;
    },
    async start(port?: number): Promise<string> {
      await app.listen({ host: parsed.host, port: port ?? parsed.port });
      const address = app.server.address();
      const actualPort = typeof address === "object" && address !== null ? address.port : (port ?? parsed.port);
      const host = parsed.host.includes(":") ? `[${parsed.host}]` : parsed.host === "0.0.0.0" ? "127.0.0.1" : parsed.host;
      listeningUrl = `http://${host}:${actualPort}`;
      // Computes batch results ahead of their deadline; unref so it never keeps the process alive.
      ticker = setInterval(tick, BATCH_TICK_MS);
      ticker.unref();
      return listeningUrl;
    },
    async stop(): Promise<void> {
      if (ticker) clearInterval(ticker);
      ticker = undefined;
      for (const release of [...held]) release();
      await app.close();
      listeningUrl = undefined;
    },
  };
}
