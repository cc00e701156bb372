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
});
export type ExecutorConfig = z.infer<typeof executorConfigSchema>;
export const loadExecutorConfig = (env: NodeJS.ProcessEnv = process.env): ExecutorConfig => parseConfig(executorConfigSchema, withDefaultModel(env, "EXECUTOR_DEFAULT_MODEL"));
