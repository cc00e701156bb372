import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { ParsedEmulatorOptions } from "../config.ts";
import type { EmulatorState } from "../state.ts";
import type { StreamEvent } from "../stream.ts";

/** What every group of routes needs from the emulator that registers it. */
export interface RouteContext {
  readonly state: EmulatorState;
  readonly options: ParsedEmulatorOptions;
  /** Waits for the configured time-to-first-token plus per-token generation time. */
  generationDelay(outputTokens: number): Promise<void>;
  /** Sends SSE events, paced over the output tokens when latency is configured. */
  sendStream(reply: FastifyReply, events: StreamEvent[], outputTokens: number): FastifyReply;
  /** `http://host:port` as the client reached us (Anthropic result URLs are absolute). */
  baseUrlOf(request: FastifyRequest): string;
}

export const ListQuerySchema = z.object({
  limit: z.coerce.number().int().optional(),
  after: z.string().optional(),
  after_id: z.string().optional(),
  before_id: z.string().optional(),
  purpose: z.string().optional(),
});
