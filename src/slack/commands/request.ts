import { PricingError, type PriceCatalog, type PricedRequest, type Quote } from '../../pricing';
import { UsageError, type GenerateFlags } from './parse';

/** Which command a mistake is shown against: an estimate's problem shows the estimate's usage. */
type RequestCommand = 'generate' | 'estimate';

/** A parsed generate/estimate as the Kling request body the catalog prices. */
export function toPricedRequest(
  prompt: string, flags: GenerateFlags, defaultModel: string, usage: RequestCommand = 'generate',
): PricedRequest {
  if (flags.image && flags.aspect) throw new UsageError('`--aspect` does not go with `--image`: the video takes the shape of the image.', usage);
  const body: Record<string, unknown> = { model_name: flags.model ?? defaultModel };
  if (prompt) body.prompt = prompt;
  if (flags.negative) body.negative_prompt = flags.negative;
  if (flags.mode) body.mode = flags.mode;
  if (flags.duration !== undefined) body.duration = String(flags.duration);
  if (flags.audio) body.sound = 'on';
  if (flags.aspect) body.aspect_ratio = flags.aspect;
  if (flags.image) body.image = flags.image;
  return { endpoint: flags.image ? 'image2video' : 'text2video', body };
}

/** Prices the request (the cheapest variant for --draft); what the catalog refuses becomes a usage error. */
export function quoteRequest(
  catalog: PriceCatalog, prompt: string, flags: GenerateFlags, defaultModel: string, usage: RequestCommand = 'generate',
): Quote {
  const request = toPricedRequest(prompt, flags, defaultModel, usage);
  try {
    return flags.draft ? catalog.cheapest(request) : catalog.quote(request);
  } catch (error) {
    if (error instanceof PricingError) throw new UsageError(error.message, usage);
    throw error;
  }
}
