import { pino } from "pino";
import { z } from "zod";
import { createEmulator } from "./server.ts";

const optionalInt = z.coerce.number().int().nonnegative().optional();

const EnvSchema = z.object({
  EMULATOR_PORT: z.coerce.number().int().min(0).max(65_535).default(18090),
  EMULATOR_HOST: z.string().default("127.0.0.1"),
  EMULATOR_TTFT_MS: optionalInt,
  EMULATOR_PER_OUTPUT_TOKEN_MS: z.coerce.number().nonnegative().optional(),
  EMULATOR_TIMEOUT_MS: optionalInt,
  EMULATOR_BATCH_VALIDATING_MS: optionalInt,
  EMULATOR_BATCH_IN_PROGRESS_MS: optionalInt,
  EMULATOR_BATCH_FINALIZING_MS: optionalInt,
  EMULATOR_FINE_TUNING_VALIDATING_MS: optionalInt,
  EMULATOR_FINE_TUNING_QUEUED_MS: optionalInt,
  EMULATOR_FINE_TUNING_RUNNING_MS: optionalInt,
  EMULATOR_SEED: z.coerce.number().int().optional(),
  EMULATOR_MODEL_AGREEMENT: z.coerce.number().min(0).max(1).optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

const env = EnvSchema.parse(process.env);
const logger = pino({ name: "emulator", level: env.LOG_LEVEL });

const definedOnly = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;

const emulator = createEmulator({
  logger,
  host: env.EMULATOR_HOST,
  port: env.EMULATOR_PORT,
  ...definedOnly({ ttftMs: env.EMULATOR_TTFT_MS, perOutputTokenMs: env.EMULATOR_PER_OUTPUT_TOKEN_MS, timeoutMs: env.EMULATOR_TIMEOUT_MS, seed: env.EMULATOR_SEED, modelAgreement: env.EMULATOR_MODEL_AGREEMENT }),
  batch: definedOnly({
    validatingMs: env.EMULATOR_BATCH_VALIDATING_MS,
    inProgressMs: env.EMULATOR_BATCH_IN_PROGRESS_MS,
    finalizingMs: env.EMULATOR_BATCH_FINALIZING_MS,
  }),
  fineTuning: definedOnly({
    validatingMs: env.EMULATOR_FINE_TUNING_VALIDATING_MS,
    queuedMs: env.EMULATOR_FINE_TUNING_QUEUED_MS,
    runningMs: env.EMULATOR_FINE_TUNING_RUNNING_MS,
  }),
});

const url = await emulator.start();
logger.info({ url, openai: `${url}/v1`, anthropic: url, config: emulator.state.config }, "provider emulator listening");

let stopping = false;
const shutdown = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "shutting down");
  emulator.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, "shutdown failed");
      process.exit(1);
    },
  );
};
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
