import type { ServiceName } from "../config.ts";

export class StackError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface Prerequisite {
  /** What is missing, e.g. "redis-server". */
  readonly what: string;
  /** The command or step that installs it. */
  readonly fix: string;
  readonly neededBy: ServiceName;
}

/** Tools the stack needs are missing; the message names each one and how to install it. */
export class MissingPrerequisiteError extends StackError {
  readonly missing: readonly Prerequisite[];
  constructor(missing: readonly Prerequisite[], hint?: string) {
    super(
      `the local stack cannot start; missing:\n${missing.map((m) => `  - ${m.what} (for ${m.neededBy}): ${m.fix}`).join("\n")}` +
        (hint ? `\n${hint}` : ""),
    );
    this.missing = missing;
  }
}

/** A service did not become healthy; the message carries the tail of its log. */
export class ServiceStartError extends StackError {
  readonly service: ServiceName;
  readonly logFile?: string;
  constructor(service: ServiceName, reason: string, logFile?: string, logTail?: string) {
    super(
      `${service} did not start: ${reason}` +
        (logFile ? `\n--- last lines of ${logFile} ---\n${logTail?.trimEnd() || "(empty)"}` : ""),
    );
    this.service = service;
    if (logFile) this.logFile = logFile;
  }
}
