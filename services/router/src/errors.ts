import { ConfigError } from "@costwise/stream-runtime";

/** The routing policy file cannot work; names the file and every offending path. */
export class PolicyError extends ConfigError {}

/** A trained classifier file is missing, malformed or built for other features. */
export class ClassifierModelError extends ConfigError {}

/** The offline evaluation or training input is unusable (empty file, missing model pair, bad rows). */
export class DatasetError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
