import pino, { type DestinationStream } from "pino";

/** The logging surface the code depends on: four leveled methods and child loggers (pino's shape). */
export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Field paths never written to logs, at any depth we log at. */
export const REDACT_PATHS = [
  "apiKey", "api_key", "authorization", "password", "secret", "token",
  "*.apiKey", "*.api_key", "*.authorization", "*.Authorization", "*.password", "*.secret", "*.token",
  "*.headers.authorization", "*.headers['x-api-key']", "headers.authorization", "headers['x-api-key']",
  "config.OPENAI_API_KEY", "config.ANTHROPIC_API_KEY", "env.OPENAI_API_KEY", "env.ANTHROPIC_API_KEY",
];

const SECRET_ENV = /(KEY|SECRET|TOKEN|PASSWORD)$/;

/** Values of secret-looking environment variables; scrubbed from every log line whatever field they hide in. */
export function secretValuesFrom(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([k, v]) => SECRET_ENV.test(k) && typeof v === "string" && v.length >= 8)
    .map(([, v]) => v as string);
}

/** A destination that replaces any known secret value before the line leaves the process. */
export function scrubbingDestination(secrets: readonly string[], inner: DestinationStream): DestinationStream {
  if (secrets.length === 0) return inner;
  return {
    write(line: string) {
      let out = line;
      for (const s of secrets) if (out.includes(s)) out = out.split(s).join("[REDACTED]");
      inner.write(out);
    },
  };
}

export interface LoggerOptions {
  service: string;
  level?: string;
  env?: NodeJS.ProcessEnv;
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const env = opts.env ?? process.env;
  const dest = scrubbingDestination(secretValuesFrom(env), opts.destination ?? pino.destination({ fd: 1, sync: false }));
  return pino(
    {
      level: opts.level ?? "info",
      base: { service: opts.service },
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  ) as unknown as Logger;
}

/** For tests and libraries that were given no logger. */
export const silentLogger: Logger = {
  error() {}, warn() {}, info() {}, debug() {},
  child() { return silentLogger; },
};
