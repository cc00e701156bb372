export class PricingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The model is in no price list: callers must not silently record a zero cost for it. */
export class UnknownModelError extends PricingError {
  readonly model: string;
  constructor(model: string) {
    super(`no price for model "${model}" in the catalog`);
    this.model = model;
  }
}

/** A price or discount string that is not an exact decimal we can represent. */
export class InvalidPriceError extends PricingError {
  readonly value: string;
  constructor(value: string, reason: string) {
    super(`invalid price "${value}": ${reason}`);
    this.value = value;
  }
}

/** Token counts that cannot describe a real call (negative, fractional, cached > input). */
export class InvalidUsageError extends PricingError {}
