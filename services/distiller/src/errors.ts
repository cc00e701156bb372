/** The distillation policy file is unreadable or invalid; the message names the file and every problem. */
export class DistillPolicyError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A `costwise distill` command was asked for something it cannot do (unknown use case, not ready, bad flag). */
export class DistillInputError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
