import { PricingError, type PriceCatalog, type PricedRequest, type Quote } from '../../pricing';
import { UsageError, type GenerateFlags, type ImageFlags } from './parse';

/** Which command a mistake is shown against: an estimate's problem shows the estimate's usage. */
type RequestCommand = 'generate' | 'estimate';

/** A parsed generate/estimate as the Kling request body the catalog prices (defaults: DEFAULT_MODEL, std, 5 s, no audio). */
export function toPricedRequest(
  prompt: string,
  flags: GenerateFlags,
  defaultModel: string,
  usage: RequestCommand = 'generate',
): PricedRequest {
  if (flags.image && flags.aspect)
    throw new UsageError('`--aspect` does not go with `--image`: the video takes the shape of the image.', usage);
  const body: Record<string, unknown> = { model_name: flags.model ?? defaultModel };
  if (prompt) body.prompt = prompt;
  if (flags.negative) body.negative_prompt = flags.negative;
  if (flags.mode) body.mode = flags.mode;
  if (flags.duration !== undefined) body.duration = String(flags.duration);
  if (flags.audio) body.sound = 'on';
  if (flags.aspect) body.aspect_ratio = flags.aspect;
  if (flags.image) body.image = flags.image;
  if (flags.video) body.video_list = [{ video_url: flags.video, refer_type: 'feature' }];
  if (flags.multishot) Object.assign(body, { multi_shot: true, shot_type: 'intelligence' });
  return { endpoint: flags.image ? 'image2video' : 'text2video', body };
}

/** Prices the request (the cheapest variant for --draft); what the catalog refuses becomes a usage error. */
export function quoteRequest(
  catalog: PriceCatalog,
  prompt: string,
  flags: GenerateFlags,
  defaultModel: string,
  usage: RequestCommand = 'generate',
): Quote {
  const request = toPricedRequest(prompt, flags, defaultModel, usage);
  return priced(() => (flags.draft ? catalog.cheapest(request) : catalog.quote(request)), usage);
}

/** `/kling image` as Kling's images/generations body, priced in image units converted to credits by the catalog. */
export function quoteImages(catalog: PriceCatalog, prompt: string, flags: ImageFlags): Quote {
  const body: Record<string, unknown> = { prompt };
  if (flags.model) body.model_name = flags.model;
  if (flags.n !== undefined) body.n = flags.n;
  if (flags.aspect) body.aspect_ratio = flags.aspect;
  return priced(() => catalog.quote({ endpoint: 'images/generations', body }), 'image');
}

function priced(quote: () => Quote, usage: RequestCommand | 'image'): Quote {
  try {
    return quote();
  } catch (error) {
    if (error instanceof PricingError) throw new UsageError(error.message, usage);
    throw error;
  }
}
