import { Redis } from "ioredis";
import { z } from "zod";

/*
 * Fine-tuning jobs `costwise distill train` started, kept in one Redis hash (field = job id), so a
 * new process — after a crash, a deploy, a closed laptop — finds the job and resumes polling it
 * instead of paying for a second one. The record also carries what later steps need: the result
 * model, its training cost, and the prompt hashes it was trained on (evaluation leaves them out).
 */

export const DEFAULT_DISTILL_JOBS_KEY = "costwise:distill:jobs";

export const JOB_STATUSES = ["validating_files", "queued", "running", "succeeded", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "cancelled"]);

export const jobRecordSchema = z
  .object({
    jobId: z.string().min(1),
    provider: z.literal("openai"),
    useCase: z.string().min(1),
    /** null: the export mixed tenants. */
    tenant: z.string().nullable(),
    baseModel: z.string().min(1),
    trainingFile: z.string().min(1),
    validationFile: z.string().nullable(),
    epochs: z.number().int().positive(),
    trainExamples: z.number().int().nonnegative(),
    trainTokens: z.number().int().nonnegative(),
    /** Export estimate: train tokens × epochs × training price. */
    estimatedCostNanoUsd: z.number().int().nonnegative(),
    trainPromptHashes: z.array(z.string()),
    status: z.enum(JOB_STATUSES),
    createdAt: z.number(),
    updatedAt: z.number(),
    finishedAt: z.number().nullable(),
    fineTunedModel: z.string().nullable(),
    /** Billable tokens the provider reports (every epoch counted). */
    trainedTokens: z.number().int().nonnegative().nullable(),
    /** trainedTokens × the training price of the base model (@costwise/pricing). */
    trainingCostNanoUsd: z.number().int().nonnegative().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  })
  .strict();
export type JobRecord = z.infer<typeof jobRecordSchema>;

export interface JobStore {
  put(rec: JobRecord): Promise<void>;
  get(jobId: string): Promise<JobRecord | null>;
  /** Every record, newest first. */
  all(): Promise<JobRecord[]>;
  close(): Promise<void>;
}

const newestFirst = (a: JobRecord, b: JobRecord) => b.createdAt - a.createdAt || (a.jobId < b.jobId ? 1 : -1);

function parse(values: readonly string[]): JobRecord[] {
  return values.map((v) => jobRecordSchema.parse(JSON.parse(v))).sort(newestFirst);
}

export function redisJobStore(url: string, opts: { key?: string; timeoutMs?: number } = {}): JobStore {
  const redis = new Redis(url, { commandTimeout: opts.timeoutMs ?? 2_000, maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on("error", () => undefined);
  const key = opts.key ?? DEFAULT_DISTILL_JOBS_KEY;
  return {
    async put(rec) {
      await redis.hset(key, rec.jobId, JSON.stringify(jobRecordSchema.parse(rec)));
    },
    async get(jobId) {
      const v = await redis.hget(key, jobId);
      return v === null ? null : jobRecordSchema.parse(JSON.parse(v));
    },
    async all() {
      return parse(Object.values(await redis.hgetall(key)));
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

export function memoryJobStore(): JobStore {
  const m = new Map<string, string>();
  return {
    async put(rec) {
      m.set(rec.jobId, JSON.stringify(jobRecordSchema.parse(rec)));
    },
    async get(jobId) {
      const v = m.get(jobId);
      return v === undefined ? null : jobRecordSchema.parse(JSON.parse(v));
    },
    async all() {
      return parse([...m.values()]);
    },
    async close() {},
  };
}

const sameScope = (r: JobRecord, useCase: string, tenant: string | null) => r.useCase === useCase && r.tenant === tenant;

/** The unfinished job of a use case (and tenant scope), if any: the one a restarted `train` resumes. */
export function activeJob(jobs: readonly JobRecord[], useCase: string, tenant: string | null): JobRecord | null {
  return jobs.find((r) => sameScope(r, useCase, tenant) && !TERMINAL.has(r.status)) ?? null;
}

/** The newest succeeded job with a model for a use case (any tenant scope when tenant is undefined). */
export function latestModel(jobs: readonly JobRecord[], useCase: string, tenant?: string | null): JobRecord | null {
  return jobs.find((r) => r.useCase === useCase && (tenant === undefined || r.tenant === tenant) && r.status === "succeeded" && r.fineTunedModel !== null) ?? null;
}
