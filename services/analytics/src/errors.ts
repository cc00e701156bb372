/** A user-facing problem with the arguments or the budgets file: print it, exit non-zero, no stack trace. */
export class AnalyticsInputError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
