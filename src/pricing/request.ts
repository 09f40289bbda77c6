import { PricingError } from './errors';
import type { CatalogData } from './schema';
import { isStandardEndpoint, type Configuration, type KlingEndpoint, type Mode, type PricedRequest } from './types';

/** Kling's limit on prompt and negative_prompt, in characters as promptLength counts them. */
export const MAX_PROMPT_CHARS = 2500;

/** Characters as Kling counts them: code points, so an emoji is one. The one count the bot and the simulator use. */
export function promptLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
const MAX_IMAGES_PER_REQUEST = 9;
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
    throw invalid(
      field,
      `${what} is ${length.toLocaleString('en-US')} characters; Kling accepts at most ${MAX_PROMPT_CHARS.toLocaleString('en-US')}.`,
    );
  }
  return value;
}

function mode(value: unknown, field: string): Mode | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !MODES.includes(value))
    throw invalid(field, `The mode must be std, pro or 4k, not ${JSON.stringify(value)}.`);
  return value as Mode;
}

function seconds(value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_SECONDS;
  const digits = typeof value === 'number' ? String(value) : value;
  if (typeof digits !== 'string' || !/^\d+$/.test(digits.trim())) {
    throw invalid(
      'duration',
      `The duration must be a whole number of seconds such as "5", not ${JSON.stringify(value)}.`,
    );
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
  const valid =
    Array.isArray(value) &&
    value.length <= 2 &&
    value.every(
      (v) => typeof v === 'object' && v !== null && typeof (v as { voice_id?: unknown }).voice_id === 'string',
    );
  if (!valid) throw invalid('voice_list', 'voice_list must be up to two {"voice_id": "..."} entries.');
  return value.length > 0;
}

function imageCount(value: unknown): number {
  if (value === undefined || value === null) return 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_IMAGES_PER_REQUEST) {
    throw invalid(
      'n',
      `Kling makes 1 to ${MAX_IMAGES_PER_REQUEST} images per request; ${JSON.stringify(value)} is not possible.`,
    );
  }
  return value;
}

function resolution(value: unknown): '1k' | '2k' | '4k' {
  if (value === undefined || value === null) return DEFAULT_RESOLUTION;
  if (typeof value !== 'string' || !RESOLUTIONS.includes(value))
    throw invalid('resolution', `The resolution must be 1k or 2k, not ${JSON.stringify(value)}.`);
  return value as '1k' | '2k' | '4k';
}

function unknownModel(model: string, field: string, known: string[]): PricingError {
  return new PricingError(
    'unknown_model',
    `"${model}" is not a model the price list knows; use one of ${known.join(', ')}.`,
    field,
  );
}

/** Validates a Kling request body and reads its priced parameters, filling in Kling's defaults. */
export function readRequest(data: CatalogData, request: PricedRequest): Configuration {
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('body', 'The request body must be a JSON object.');
  const model = text(body, 'model_name');
  text(body, 'negative_prompt');

  switch (request.endpoint) {
    case 'text2video':
    case 'image2video':
    case 'omni-video':
      return readVideo(data, request.endpoint, body, model);
    case 'video-extend': {
      text(body, 'video_id', 'Extending a video needs the video_id of the video to extend.');
      text(body, 'prompt');
      const source = request.source;
      if (!source || typeof source.model_name !== 'string' || source.model_name === '') {
        throw invalid(
          'source',
          'Extending a video needs the model (and mode) of the source video, because the extension inherits them.',
        );
      }
      const video = data.video.find((m) => m.model === source.model_name);
      if (!video)
        throw unknownModel(
          source.model_name,
          'source',
          data.extend.map((row) => row.source).filter((m, i, all) => all.indexOf(m) === i),
        );
      return {
        kind: 'extend',
        model: video.model,
        mode: mode(source.mode, 'source') ?? (video.modes.length > 0 ? 'std' : undefined),
      };
    }
    case 'images/generations': {
      text(body, 'prompt', 'Image generation needs a prompt describing the image.');
      const name = model ?? data.defaults['images/generations'];
      if (!data.images.some((m) => m.model === name))
        throw unknownModel(
          name,
          'model_name',
          data.images.map((m) => m.model),
        );
      const input = text(body, 'image') ? 'image' : 'text';
      if (input === 'image' && text(body, 'negative_prompt'))
        throw invalid(
          'negative_prompt',
          'Kling takes no negative prompt when generating from an image; drop it or the image.',
        );
      return { kind: 'image', model: name, input, resolution: resolution(body.resolution), n: imageCount(body.n) };
    }
    case 'kolors-virtual-try-on': {
      text(body, 'human_image', 'Virtual try-on needs a photo of the person (human_image).');
      text(body, 'cloth_image', 'Virtual try-on needs a photo of the garment (cloth_image).');
      const name = model ?? data.defaults['kolors-virtual-try-on'];
      if (!data.tryOn.some((m) => m.model === name))
        throw unknownModel(
          name,
          'model_name',
          data.tryOn.map((m) => m.model),
        );
      return { kind: 'try-on', model: name };
    }
    default:
      if (isStandardEndpoint(request.endpoint)) {
        return readVideo(data, request.endpoint, flatten(body), request.endpoint.slice('text-to-video/'.length));
      }
      throw invalid(
        'endpoint',
        `The price list does not cover the Kling endpoint ${JSON.stringify((request as { endpoint: unknown }).endpoint)}.`,
      );
  }
}

/** The request as it will be sent: the original body with the configuration's priced parameters written in. */
export function writeRequest(data: CatalogData, request: PricedRequest, config: Configuration): PricedRequest {
  const body: Record<string, unknown> = { ...request.body };
  switch (config.kind) {
    case 'video':
      return writeVideo(data, request, config);
    case 'extend':
      return {
        endpoint: 'video-extend',
        body,
        source: config.mode ? { model_name: config.model, mode: config.mode } : { model_name: config.model },
      };
    case 'image':
      body.model_name = config.model;
      body.n = config.n;
      if (config.resolution !== DEFAULT_RESOLUTION || body.resolution !== undefined)
        body.resolution = config.resolution;
      return { endpoint: 'images/generations', body };
    case 'try-on':
      body.model_name = config.model;
      return { endpoint: 'kolors-virtual-try-on', body };
  }
}

/** The new standard's resolutions, and the legacy modes they are priced as. */
const RESOLUTION_OF_MODE: Readonly<Record<Mode, string>> = { std: '720p', pro: '1080p', '4k': '4k' };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type StandardBody = Record<string, unknown> & { settings?: Record<string, unknown> };

/** A new-standard body in the legacy spelling (mode, duration "5", sound "on"), so one reader serves every API. */
function flatten(body: Record<string, unknown>): Record<string, unknown> {
  if (body.settings !== undefined && !isObject(body.settings)) throw invalid('settings', 'settings must be an object.');
  // options carries only delivery and naming (external_task_id, callback_url), nothing priced.
  const { settings = {}, options: _options, ...rest } = body as StandardBody;
  const { resolution, duration, audio, aspect_ratio, multi_shot, shot_type } = settings;
  const mode = Object.entries(RESOLUTION_OF_MODE).find(([, r]) => r === resolution)?.[0];
  if (resolution !== undefined && !mode) {
    const given = JSON.stringify(resolution);
    throw invalid('settings.resolution', `The resolution must be 720p, 1080p or 4k, not ${given}.`);
  }
  if (audio !== undefined && !['native', 'off', 'original'].includes(audio as string)) {
    throw invalid('settings.audio', `settings.audio must be native, original or off, not ${JSON.stringify(audio)}.`);
  }
  if (duration !== undefined && !Number.isInteger(duration)) {
    throw invalid('settings.duration', `settings.duration must be a whole number, not ${JSON.stringify(duration)}.`);
  }
  return {
    ...rest,
    ...(mode && { mode }),
    ...(duration !== undefined && { duration: String(duration) }),
    ...(audio !== undefined && { sound: audio === 'native' ? 'on' : 'off' }),
    ...(aspect_ratio !== undefined && { aspect_ratio }),
    // Kling cuts 3.x videos into shots unless told not to.
    multi_shot: multi_shot ?? true,
    ...(shot_type !== undefined && { shot_type }),
  };
}

/** omni-video's image_list as the legacy image / image_tail. */
function omniImages(body: Record<string, unknown>): Record<string, unknown> {
  const { image_list: list, ...rest } = body;
  if (list === undefined || list === null) return rest;
  const valid = Array.isArray(list) && list.every((item) => isObject(item) && typeof item.image_url === 'string');
  if (!valid) throw invalid('image_list', 'image_list must be a list of {"image_url": "..."} entries.');
  const entries = list as { image_url: string; type?: string }[];
  const first = entries.find((item) => item.type === 'first_frame');
  const last = entries.find((item) => item.type === 'end_frame');
  return { ...rest, ...(first && { image: first.image_url }), ...(last && { image_tail: last.image_url }) };
}

function referenceVideo(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  const entry = (v: unknown) => isObject(v) && typeof v.video_url === 'string' && v.video_url !== '';
  const valid = Array.isArray(value) && value.length <= 1 && value.every(entry);
  if (!valid) throw invalid('video_list', 'video_list must be at most one {"video_url": "..."} entry.');
  return value.length > 0;
}

function multiShot(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    throw invalid('multi_shot', `multi_shot must be true or false, not ${JSON.stringify(value)}.`);
  }
  return value;
}

/** A video request of any API (text2video, image2video, omni-video, or a new-standard body flattened). */
function readVideo(
  data: CatalogData,
  endpoint: KlingEndpoint,
  raw: Record<string, unknown>,
  pathModel?: string,
): Configuration {
  const body = endpoint === 'omni-video' ? omniImages(raw) : raw;
  const model = pathModel ?? text(body, 'model_name');
  const fromImage = endpoint === 'image2video' || (endpoint === 'omni-video' && text(body, 'image') !== undefined);
  const kind = fromImage ? 'image2video' : 'text2video';
  if (kind === 'text2video') text(body, 'prompt', 'Text to video needs a prompt describing the video.');
  else if (!text(body, 'image') && !text(body, 'image_tail')) {
    throw invalid('image', 'Image to video needs an image (a URL or base64); add --image.');
  }
  const name = model ?? (endpoint === 'text2video' || endpoint === 'image2video' ? data.defaults[endpoint] : undefined);
  const video = data.video.find((m) => m.model === name);
  if (!name || !video) {
    const known = data.video.filter((m) => m.endpoints.includes(kind)).map((m) => m.model);
    throw unknownModel(name ?? '(none)', 'model_name', known);
  }
  // omni-video wants a prompt even when it starts from an image.
  text(body, 'prompt', video.api === 'legacy' ? undefined : `${video.model} needs a prompt, even from an image.`);
  if (video.api !== 'legacy' && text(body, 'negative_prompt')) {
    throw invalid('negative_prompt', `${video.model} takes no negative prompt; drop --negative.`);
  }
  const requested = mode(body.mode, 'mode');
  // omni-video makes pro unless told otherwise; the other APIs default to std (720p).
  const defaultMode = video.modes.length === 0 ? undefined : endpoint === 'omni-video' ? 'pro' : 'std';
  return {
    kind: 'video',
    endpoint: kind,
    model: video.model,
    mode: requested ?? defaultMode,
    seconds: seconds(body.duration),
    sound: body.sound === undefined && video.audio?.always ? true : sound(body.sound),
    voice: voice(body.voice_list),
    videoInput: referenceVideo(body.video_list),
    multiShot: multiShot(body.multi_shot),
  };
}

/** The video request in the shape of the model's API, keeping its content (prompt, image, aspect ratio, reference video). */
function writeVideo(
  data: CatalogData,
  request: PricedRequest,
  config: Extract<Configuration, { kind: 'video' }>,
): PricedRequest {
  const api = data.video.find((m) => m.model === config.model)?.api ?? 'legacy';
  const source =
    request.endpoint === 'omni-video'
      ? omniImages(request.body)
      : isStandardEndpoint(request.endpoint)
        ? flatten(request.body)
        : request.body;
  const { multi_shot: _m, shot_type: _s, video_list: videoList, ...body } = source;
  const shots = config.multiShot ? { multi_shot: true, shot_type: 'intelligence' } : {};
  const makesSound = Boolean(data.video.find((m) => m.model === config.model)?.audio);

  if (api === 'new-standard') {
    const options = isObject(request.body.options) ? { options: request.body.options } : {};
    return {
      endpoint: `text-to-video/${config.model}`,
      body: {
        prompt: body.prompt,
        settings: {
          resolution: RESOLUTION_OF_MODE[config.mode ?? 'std'],
          duration: config.seconds,
          audio: config.sound ? 'native' : 'off',
          aspect_ratio: body.aspect_ratio ?? '16:9',
          // Kling cuts 3.x videos into shots by default, so a single shot is asked for explicitly.
          multi_shot: config.multiShot,
          ...(config.multiShot && { shot_type: 'intelligence' }),
        },
        ...options,
      },
    };
  }

  body.model_name = config.model;
  if (config.mode) body.mode = config.mode;
  else delete body.mode;
  body.duration = String(config.seconds);
  // Only models that make sound know the field; the others get no sound key at all.
  if (makesSound) body.sound = config.sound ? 'on' : 'off';
  else delete body.sound;
  if (!config.voice) delete body.voice_list;
  if (api === 'legacy') return { endpoint: config.endpoint, body: { ...body, ...shots } };

  const { image, image_tail: tail, ...omni } = body;
  const images = [
    ...(typeof image === 'string' ? [{ image_url: image, type: 'first_frame' }] : []),
    ...(typeof tail === 'string' ? [{ image_url: tail, type: 'end_frame' }] : []),
  ];
  return {
    endpoint: 'omni-video',
    body: {
      ...omni,
      ...(images.length > 0 ? { image_list: images } : { aspect_ratio: omni.aspect_ratio ?? '16:9' }),
      ...(config.videoInput && { video_list: videoList }),
      ...shots,
    },
  };
}
