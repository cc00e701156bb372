import { z } from "zod";
import { providersConfigSchema } from "@costwise/providers";
import { defaultModelConfigSchema, withDefaultModel } from "@costwise/lifecycle";
import { baseConfigSchema, parseConfig } from "@costwise/stream-runtime";

/** COSTWISE_DEFAULT_MODEL (or EXECUTOR_DEFAULT_MODEL) is the model of requests that name none and were not routed; also their cost baseline. */
export const executorConfigSchema = baseConfigSchema.merge(providersConfigSchema).merge(defaultModelConfigSchema).extend({
  /** The router policy whose cascade checks the executor applies (shared with the router). */
  ROUTER_POLICY_FILE: z.string().optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9401),
  // Provider calls take real time: many in flight per partition keeps throughput up while order of outputs is kept.
  CONCURRENCY: z.coerce.number().int().positive().default(128),
  /**
   * Use cases whose prompts are known to repeat (a fixed system prompt per session, agents): their
   * Anthropic prefixes are marked for caching from the first request (PROMPT_CACHE=always for them),
   * comma-separated. Every other use case follows PROMPT_CACHE.
   */
  PROMPT_CACHE_ALWAYS_USE_CASES: z
    .string()
    .default("")
    .transform((v) => v.split(",").map((s) => s.trim()).filter((s) => s !== "")),
});
export type ExecutorConfig = z.infer<typeof executorConfigSchema>;
export const loadExecutorConfig = (env: NodeJS.ProcessEnv = process.env): ExecutorConfig => parseConfig(executorConfigSchema, withDefaultModel(env, "EXECUTOR_DEFAULT_MODEL"));
