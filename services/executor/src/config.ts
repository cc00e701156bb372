import { z } from "zod";
import { providersConfigSchema } from "@costwise/providers";
import { baseConfigSchema, parseConfig } from "@costwise/stream-runtime";

export const executorConfigSchema = baseConfigSchema.merge(providersConfigSchema).extend({
  /** The model for requests that name none and were not routed; also their cost baseline. */
  EXECUTOR_DEFAULT_MODEL: z.string().min(1).default("gpt-4o"),
  /** The router policy whose cascade checks the executor applies (shared with the router). */
  ROUTER_POLICY_FILE: z.string().optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9401),
  // Provider calls take real time: many in flight per partition keeps throughput up while order of outputs is kept.
  CONCURRENCY: z.coerce.number().int().positive().default(128),
});
export type ExecutorConfig = z.infer<typeof executorConfigSchema>;
export const loadExecutorConfig = (env: NodeJS.ProcessEnv = process.env): ExecutorConfig => parseConfig(executorConfigSchema, env);
