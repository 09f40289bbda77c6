import { PricingError } from './errors';
import type { CatalogData } from './schema';
import type { Configuration, Mode, PricedRequest } from './types';

/** Kling's limit on prompt and negative_prompt (reference §2.1), in characters as promptLength counts them. */
export const MAX_PROMPT_CHARS = 2500;

/** Characters as Kling counts them: code points, so an emoji is one. The one count the bot and the simulator use. */
export function promptLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
export const MAX_IMAGES_PER_REQUEST = 9;
const MODES: readonly string[] = ['std', 'pro', '4k'];
const RESOLUTIONS: readonly string[] = ['1k', '2k', '4k'];
const DEFAULT_RESOLUTION = '1k';
const DEFAULT_SECONDS = 5;

const invalid = (field: string, message: string) => new PricingError('invalid_request', message, field);

function text(body: Record<string, unknown>, field: string, required?: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    if (required) throw invalid(field, required);
    return undefined;
  }
  if (typeof value !== 'string') throw invalid(field, `${field} must be text.`);
  // Postgres text cannot hold U+0000 and Kling has no use for it: say so rather than fail on the insert.
  if (value.includes('\u0000')) {
    throw invalid(field, `The ${field.replace('_', ' ')} contains a NUL character (U+0000): remove it and try again.`);
  }
  const length = promptLength(value);
  if ((field === 'prompt' || field === 'negative_prompt') && length > MAX_PROMPT_CHARS) {
    const what = field === 'prompt' ? 'The prompt' : 'The negative prompt';
    throw invalid(field, `${what} is ${length.toLocaleString('en-US')} characters; Kling accepts at most ${MAX_PROMPT_CHARS.toLocaleString('en-US')}.`);
  }
  return value;
}

function mode(value: unknown, field: string): Mode | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !MODES.includes(value)) throw invalid(field, `The mode must be std, pro or 4k, not ${JSON.stringify(value)}.`);
  return value as Mode;
}

function seconds(value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_SECONDS;
  const digits = typeof value === 'number' ? String(value) : value;
  if (typeof digits !== 'string' || !/^\d+$/.test(digits.trim())) {
    throw invalid('duration', `The duration must be a whole number of seconds such as "5", not ${JSON.stringify(value)}.`);
  }
  return Number(digits);
}

function sound(value: unknown): boolean {
  if (value === undefined || value === null || value === 'off') return false;
  if (value === 'on') return true;
  throw invalid('sound', `sound must be "on" or "off", not ${JSON.stringify(value)}.`);
}

function voice(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  const valid = Array.isArray(value) && value.length <= 2 && value.every((v) => typeof v === 'object' && v !== null && typeof (v as { voice_id?: unknown }).voice_id === 'string');
  if (!valid) throw invalid('voice_list', 'voice_list must be up to two {"voice_id": "..."} entries.');
  return value.length > 0;
}

function imageCount(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_IMAGES_PER_REQUEST) {
    throw invalid('n', `Kling makes 1 to ${MAX_IMAGES_PER_REQUEST} images per request; ${JSON.stringify(value)} is not possible.`);
  }
  return value;
}

function resolution(value: unknown): '1k' | '2k' | '4k' {
  if (value === undefined || value === null) return DEFAULT_RESOLUTION;
  if (typeof value !== 'string' || !RESOLUTIONS.includes(value)) throw invalid('resolution', `The resolution must be 1k or 2k, not ${JSON.stringify(value)}.`);
  return value as '1k' | '2k' | '4k';
}

function unknownModel(model: string, field: string, known: string[]): PricingError {
  return new PricingError('unknown_model', `"${model}" is not a model the price list knows; use one of ${known.join(', ')}.`, field);
}

/** Validates a Kling request body and reads its priced parameters, filling in Kling's defaults. */
export function readRequest(data: CatalogData, request: PricedRequest): Configuration {
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('body', 'The request body must be a JSON object.');
  const model = text(body, 'model_name');
  text(body, 'negative_prompt');

  switch (request.endpoint) {
    case 'text2video':
    case 'image2video': {
      const endpoint = request.endpoint;
      if (endpoint === 'text2video') text(body, 'prompt', 'Text to video needs a prompt describing the video.');
      else {
        text(body, 'prompt');
        if (!text(body, 'image') && !text(body, 'image_tail')) throw invalid('image', 'Image to video needs an image (a URL or base64); add --image.');
      }
      const name = model ?? data.defaults[endpoint];
      const video = data.video.find((m) => m.model === name);
      if (!video) throw unknownModel(name, 'model_name', data.video.filter((m) => m.endpoints.includes(endpoint)).map((m) => m.model));
      const requested = mode(body.mode, 'mode');
      return {
        kind: 'video',
        endpoint,
        model: name,
        mode: requested ?? (video.modes.length > 0 ? 'std' : undefined),
        seconds: seconds(body.duration),
        sound: sound(body.sound),
        voice: voice(body.voice_list),
      };
    }
    case 'video-extend': {
      text(body, 'video_id', 'Extending a video needs the video_id of the video to extend.');
      text(body, 'prompt');
      const source = request.source;
      if (!source || typeof source.model_name !== 'string' || source.model_name === '') {
        throw invalid('source', 'Extending a video needs the model (and mode) of the source video, because the extension inherits them.');
      }
      const video = data.video.find((m) => m.model === source.model_name);
      if (!video) throw unknownModel(source.model_name, 'source', data.extend.map((row) => row.source).filter((m, i, all) => all.indexOf(m) === i));
      return { kind: 'extend', model: video.model, mode: mode(source.mode, 'source') ?? (video.modes.length > 0 ? 'std' : undefined) };
    }
    case 'images/generations': {
      text(body, 'prompt', 'Image generation needs a prompt describing the image.');
      const name = model ?? data.defaults['images/generations'];
      if (!data.images.some((m) => m.model === name)) throw unknownModel(name, 'model_name', data.images.map((m) => m.model));
      const input = text(body, 'image') ? 'image' : 'text';
      if (input === 'image' && text(body, 'negative_prompt')) throw invalid('negative_prompt', 'Kling takes no negative prompt when generating from an image; drop it or the image.');
      return { kind: 'image', model: name, input, resolution: resolution(body.resolution), n: imageCount(body.n) };
    }
    case 'kolors-virtual-try-on': {
      text(body, 'human_image', 'Virtual try-on needs a photo of the person (human_image).');
      text(body, 'cloth_image', 'Virtual try-on needs a photo of the garment (cloth_image).');
      const name = model ?? data.defaults['kolors-virtual-try-on'];
      if (!data.tryOn.some((m) => m.model === name)) throw unknownModel(name, 'model_name', data.tryOn.map((m) => m.model));
      return { kind: 'try-on', model: name };
    }
    default:
      throw invalid('endpoint', `The price list does not cover the Kling endpoint ${JSON.stringify((request as { endpoint: unknown }).endpoint)}.`);
  }
}

/** The request as it will be sent: the original body with the configuration's priced parameters written in. */
export function writeRequest(data: CatalogData, request: PricedRequest, config: Configuration): PricedRequest {
  const body: Record<string, unknown> = { ...request.body };
  switch (config.kind) {
    case 'video': {
      body.model_name = config.model;
      if (config.mode) body.mode = config.mode;
      else delete body.mode;
      body.duration = String(config.seconds);
      // Only models that make sound know the field; the others get no sound key at all.
      if (data.video.find((m) => m.model === config.model)?.audio) body.sound = config.sound ? 'on' : 'off';
      else delete body.sound;
      if (!config.voice) delete body.voice_list;
      return { endpoint: config.endpoint, body };
    }
    case 'extend':
      return { endpoint: 'video-extend', body, source: config.mode ? { model_name: config.model, mode: config.mode } : { model_name: config.model } };
    case 'image':
      body.model_name = config.model;
      body.n = config.n;
      if (config.resolution !== DEFAULT_RESOLUTION || body.resolution !== undefined) body.resolution = config.resolution;
      return { endpoint: 'images/generations', body };
    case 'try-on':
      body.model_name = config.model;
      return { endpoint: 'kolors-virtual-try-on', body };
  }
}
