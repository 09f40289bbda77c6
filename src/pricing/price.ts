import { timesMc, type Millicredits } from '../money/credits';
import { PricingError } from './errors';
import type { CatalogData, VideoModelData } from './schema';
import type { Configuration } from './types';

const ENDPOINT_WORDS = { text2video: 'text to video', image2video: 'image to video' } as const;

function orList(items: readonly (string | number)[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function durationWords(durations: readonly number[]): string {
  const sorted = [...durations].sort((a, b) => a - b);
  const contiguous = sorted.length > 2 && sorted.every((s, i) => i === 0 || s === sorted[i - 1]! + 1);
  return contiguous ? `${sorted[0]} to ${sorted[sorted.length - 1]}` : orList(sorted);
}

/** "kling-v2-6 pro · 10 s · audio" */
export function describe(config: Configuration): string {
  switch (config.kind) {
    case 'video':
      return [
        config.mode ? `${config.model} ${config.mode}` : config.model,
        `${config.seconds} s`,
        ...(config.sound ? ['audio'] : []),
        ...(config.voice ? ['voice control'] : []),
        ...(config.multiShot ? ['multi-shot'] : []),
        ...(config.endpoint === 'image2video' ? ['from image'] : []),
        ...(config.videoInput ? ['with reference video'] : []),
      ].join(' · ');
    case 'extend':
      return `extend a ${config.mode ? `${config.model} ${config.mode}` : config.model} video · +4–5 s`;
    case 'image':
      return [
        config.model,
        `${config.n} image${config.n === 1 ? '' : 's'}`,
        config.resolution,
        ...(config.input === 'image' ? ['from image'] : []),
      ].join(' · ');
    case 'try-on':
      return `virtual try-on · ${config.model}`;
  }
}

function unpriced(data: CatalogData, config: Configuration, field: string): PricingError {
  return new PricingError(
    'unpriced',
    `The price list (${data.version}) has no price for ${describe(config)}, so it cannot be estimated; choose another configuration or have an admin add it to PRICING_FILE.`,
    field,
  );
}

/** Refuses what Kling does not support, in the words a person would use on the command line. */
function checkVideo(data: CatalogData, model: VideoModelData, config: Extract<Configuration, { kind: 'video' }>): void {
  const unsupported = (field: string, message: string) => new PricingError('unsupported', message, field);
  const { endpoint, mode, seconds } = config;
  if (!model.endpoints.includes(endpoint)) {
    const others = data.video.filter((m) => m.endpoints.includes(endpoint)).map((m) => m.model);
    throw unsupported('model_name', `${model.model} does not do ${ENDPOINT_WORDS[endpoint]}; use ${orList(others)}.`);
  }
  if (model.modes.length === 0 && mode) throw unsupported('mode', `${model.model} takes no mode; drop --mode.`);
  if (model.modes.length > 0 && (!mode || !model.modes.includes(mode))) {
    const having = data.video
      .filter((m) => m.endpoints.includes(endpoint) && mode && m.modes.includes(mode))
      .map((m) => m.model);
    const where = having.length > 0 ? ` (${mode} is only on ${orList(having)})` : '';
    throw unsupported('mode', `${model.model} has no ${mode} mode${where}; use --mode ${orList(model.modes)}.`);
  }
  if (!model.durations.includes(seconds)) {
    throw unsupported(
      'duration',
      `${model.model} makes ${durationWords(model.durations)} s videos, not ${seconds} s; use --duration ${durationWords(model.durations)}.`,
    );
  }
  if (config.voice && !config.sound)
    throw new PricingError(
      'invalid_request',
      'A voice list speaks in the soundtrack, so it needs sound "on"; add --audio or drop the voices.',
      'voice_list',
    );
  if (config.sound && !model.audio) {
    const withAudio = data.video.filter((m) => m.audio && m.endpoints.includes(endpoint)).map((m) => m.model);
    throw unsupported(
      'sound',
      `${model.model} cannot generate audio; drop --audio${withAudio.length ? ` or use ${orList(withAudio)}` : ''}.`,
    );
  }
  if (config.sound && model.audio && mode && !model.audio.modes.includes(mode)) {
    throw unsupported(
      'sound',
      `${model.model} cannot add audio in ${mode} mode; use --mode ${orList(model.audio.modes)} or drop --audio.`,
    );
  }
  if (config.voice && !model.audio?.voice)
    throw unsupported('voice_list', `${model.model} has no voice control; drop the voice list.`);
  if (!config.sound && model.audio?.always) {
    throw unsupported('sound', `${model.model} always makes its video with audio; it cannot be silent.`);
  }
  if (config.multiShot && !model.multiShot) {
    const able = data.video.filter((m) => m.multiShot && m.endpoints.includes(endpoint)).map((m) => m.model);
    const instead = able.length ? ` or use ${orList(able)}` : '';
    throw unsupported('multi_shot', `${model.model} cannot cut a prompt into shots; drop --multishot${instead}.`);
  }
  if (config.videoInput && model.api !== 'omni-video') {
    const able = data.video.filter((m) => m.api === 'omni-video' && m.endpoints.includes(endpoint)).map((m) => m.model);
    const instead = able.length ? ` or use ${orList(able)}` : '';
    throw unsupported('video_list', `${model.model} cannot take a reference video; drop --video${instead}.`);
  }
}

/** The exact price of a configuration in millicredits (integer arithmetic only), or a PricingError. */
export function priceOf(data: CatalogData, config: Configuration): Millicredits {
  switch (config.kind) {
    case 'video': {
      const model = data.video.find((m) => m.model === config.model);
      if (!model)
        throw new PricingError('unknown_model', `"${config.model}" is not a model the price list knows.`, 'model_name');
      checkVideo(data, model, config);
      const row = model.prices.find(
        (p) =>
          p.mode === config.mode &&
          p.sound === config.sound &&
          p.voice === config.voice &&
          p.videoInput === config.videoInput,
      );
      const field = config.voice ? 'voice_list' : config.sound ? 'sound' : config.videoInput ? 'video_list' : 'mode';
      if (!row) throw unpriced(data, config, field);
      if (row.perSecond !== undefined) return timesMc(row.perSecond, config.seconds);
      const clip = row.perClip?.[String(config.seconds)];
      if (clip === undefined) throw unpriced(data, config, 'duration');
      return clip;
    }
    case 'extend': {
      const rows = data.extend.filter((row) => row.source === config.model);
      const sources = [...new Set(data.extend.map((row) => row.source))];
      if (sources.length === 0) throw unpriced(data, config, 'source');
      if (rows.length === 0)
        throw new PricingError(
          'unsupported',
          `Kling can only extend videos made by ${orList(sources)}; this one was made by ${config.model}.`,
          'source',
        );
      const row = rows.find((r) => r.mode === config.mode);
      if (!row) throw unpriced(data, config, 'source');
      return row.credits;
    }
    case 'image': {
      const model = data.images.find((m) => m.model === config.model);
      if (!model)
        throw new PricingError(
          'unknown_model',
          `"${config.model}" is not an image model the price list knows.`,
          'model_name',
        );
      if (!model.inputs.includes(config.input)) {
        throw new PricingError(
          'unsupported',
          config.input === 'text'
            ? `${model.model} only restyles an image; add an image.`
            : `${model.model} cannot start from an image; drop the image.`,
          'image',
        );
      }
      if (!model.resolutions.includes(config.resolution)) {
        throw new PricingError(
          'unsupported',
          `${model.model} makes ${orList(model.resolutions)} images, not ${config.resolution}.`,
          'resolution',
        );
      }
      const row = model.prices.find((p) => p.input === config.input && p.resolution === config.resolution);
      if (!row) throw unpriced(data, config, 'resolution');
      return timesMc(data.imageUnitCredits, row.imageUnits * config.n);
    }
    case 'try-on': {
      const model = data.tryOn.find((m) => m.model === config.model);
      if (!model)
        throw new PricingError(
          'unknown_model',
          `"${config.model}" is not a try-on model the price list knows.`,
          'model_name',
        );
      return model.credits;
    }
  }
}
