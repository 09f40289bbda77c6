import { PricingError, type PriceCatalog, type PricedRequest } from '../../pricing';
import { Refusal } from './refusal';

/** Millicredits as Kling writes units: "2.5", "0.05", "12". */
export function formatUnits(mc: number): string {
  const frac = String(mc % 1000)
    .padStart(3, '0')
    .replace(/0+$/, '');
  return `${Math.floor(mc / 1000)}${frac ? `.${frac}` : ''}`;
}

/** The catalog's price for a request, or the refusal Kling gives for what it cannot price. */
export function quote(catalog: PriceCatalog, request: PricedRequest) {
  let quoted: ReturnType<PriceCatalog['quote']>;
  try {
    quoted = catalog.quote(request);
  } catch (error) {
    if (!(error instanceof PricingError)) throw error;
    if (error.reason === 'unknown_model')
      throw new Refusal(1203, `model is not supported: ${String(request.body.model_name)}`);
    throw new Refusal(1201, `${error.field ?? 'request'} is invalid: ${error.message}`);
  }
  // Each model answers on its own API's path only (kling-v3-omni on omni-video, kling-3.0-turbo on the new standard).
  if (quoted.request.endpoint !== request.endpoint) {
    const model = request.body.model_name ?? request.endpoint.split('/')[1];
    throw new Refusal(1201, `model_name is invalid: ${String(model)} is not supported on ${request.endpoint}`);
  }
  return quoted;
}
