/** A request the catalog cannot price: Kling does not support it, the catalog has no price for it, or the body is invalid. Never answered with a default price. */
export class PricingError extends Error {
  override name = 'PricingError';
  constructor(
    readonly reason: 'unknown_model' | 'unsupported' | 'unpriced' | 'invalid_request',
    message: string,
    /** The body field at fault, e.g. "duration". */
    readonly field?: string,
  ) {
    super(message);
  }
}
