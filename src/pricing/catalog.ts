import { subMc, type Millicredits } from '../money/credits';
import { changeLabel, draftCandidates, singleChanges } from './alternatives';
import { PricingError } from './errors';
import { describe, priceOf } from './price';
import { MAX_PROMPT_CHARS, readRequest, writeRequest } from './request';
import type { CatalogData } from './schema';
import type { Alternative, Configuration, KlingEndpoint, Mode, PricedRequest, Quote } from './types';

export interface Capabilities {
  modes: string[];
  durations: number[];
  sound: boolean;
  endpoints: KlingEndpoint[];
  /** Modes in which the model can add audio (kling-v2-6: pro only). */
  audioModes: string[];
  voiceControl: boolean;
  /** Always with audio (3.0 Turbo). */
  alwaysAudio: boolean;
  multiShot: boolean;
  /** Takes a reference video (omni-video models). */
  videoInput: boolean;
}

/** How Kling asks omni-video to continue a reference video. */
const NEXT_SHOT = 'Based on <<<video_1>>>, generate the next shot';

/** Kling's modes from cheapest to dearest. */
const MODES_UP: readonly Mode[] = ['std', 'pro', '4k'];

/** Prices Kling requests from one catalog (the built-in price list or an operator's PRICING_FILE). */
export class PriceCatalog {
  readonly version: string;
  readonly effectiveDate: string;

  constructor(private readonly data: CatalogData) {
    this.version = data.version;
    this.effectiveDate = data.effectiveDate;
  }

  /** The exact price of a request and its cheaper alternatives; throws PricingError, never guesses. */
  quote(request: PricedRequest): Quote {
    const config = readRequest(this.data, request);
    const credits = priceOf(this.data, config);
    return this.quoteOf(request, config, credits);
  }

  /**
   * For --draft: the cheapest silent configuration of the same model, endpoint, prompt and inputs
   * (mode, duration and resolution may change; the model and the number of images do not).
   */
  cheapest(request: PricedRequest): Quote {
    const best = this.cheapestOf(draftCandidates(this.data, readRequest(this.data, request)));
    // Nothing of this model is priced on this endpoint: quoting the request as asked says why.
    if (!best) return this.quote(request);
    return this.quoteOf(request, best.config, best.credits);
  }

  /**
   * The same request in the next mode up the model has and the list prices (std → pro, pro → 4k), or
   * undefined when there is none.
   */
  nextModeUp(request: PricedRequest): Quote | undefined {
    const config = readRequest(this.data, request);
    if (config.kind !== 'video' || !config.mode) return undefined;
    const modes = this.data.video.find((m) => m.model === config.model)?.modes ?? [];
    const up = MODES_UP.slice(MODES_UP.indexOf(config.mode) + 1).find((mode) => modes.includes(mode));
    if (!up) return undefined;
    const upgraded = { ...config, mode: up };
    const credits = this.priceOrUndefined(upgraded);
    return credits === undefined ? undefined : this.quoteOf(request, upgraded, credits);
  }

  /**
   * About 5 s more of a finished video: video-extend for the models Kling extends (model and mode are
   * inherited), otherwise the next shot by an omni-video model (the same one, else the first the list prices)
   * with the video as a `feature` reference, silent and 5 s. Undefined when the list prices neither.
   */
  extension(request: PricedRequest, video: { id?: string; url: string }): Quote | undefined {
    const config = readRequest(this.data, request);
    const prompt = typeof request.body.prompt === 'string' ? request.body.prompt : undefined;
    if (config.kind !== 'extend' && config.kind !== 'video') return undefined;
    if (config.kind === 'extend' || this.models('video-extend').includes(config.model)) {
      if (!video.id) return undefined;
      const source = config.mode ? { model_name: config.model, mode: config.mode } : { model_name: config.model };
      const body = { video_id: video.id, ...(prompt && { prompt }) };
      return this.quoteOrUndefined({ endpoint: 'video-extend', body, source });
    }
    const next = NEXT_SHOT + (prompt ? `: ${prompt}` : '.');
    const settings = request.body.settings as { aspect_ratio?: unknown } | undefined;
    const body = {
      prompt: [...next].slice(0, MAX_PROMPT_CHARS).join(''),
      aspect_ratio: request.body.aspect_ratio ?? settings?.aspect_ratio ?? '16:9',
      duration: '5',
      video_list: [{ video_url: video.url, refer_type: 'feature' }],
    };
    const omni = this.models('omni-video');
    for (const model of omni.includes(config.model) ? [config.model, ...omni] : omni) {
      for (const mode of new Set([config.mode, 'pro', 'std'])) {
        const quote = this.quoteOrUndefined({ endpoint: 'omni-video', body: { ...body, model_name: model, mode } });
        if (quote) return quote;
      }
    }
    return undefined;
  }

  models(endpoint: KlingEndpoint): string[] {
    switch (endpoint) {
      case 'text2video':
      case 'image2video':
        return this.data.video.filter((m) => m.endpoints.includes(endpoint)).map((m) => m.model);
      case 'omni-video':
        return this.data.video.filter((m) => m.api === 'omni-video').map((m) => m.model);
      case 'video-extend':
        return [...new Set(this.data.extend.map((row) => row.source))];
      case 'images/generations':
        return this.data.images.map((m) => m.model);
      case 'kolors-virtual-try-on':
        return this.data.tryOn.map((m) => m.model);
      default: {
        const model = endpoint.slice('text-to-video/'.length);
        return this.data.video.some((m) => m.model === model && m.api === 'new-standard') ? [model] : [];
      }
    }
  }

  capabilities(model: string): Capabilities {
    const video = this.data.video.find((m) => m.model === model);
    const endpoints = (
      ['text2video', 'image2video', 'video-extend', 'images/generations', 'kolors-virtual-try-on'] as const
    ).filter((e) => this.models(e).includes(model));
    if (endpoints.length === 0)
      throw new PricingError('unknown_model', `"${model}" is not a model the price list knows.`, 'model_name');
    return {
      modes: [...(video?.modes ?? [])],
      durations: [...(video?.durations ?? [])],
      sound: Boolean(video?.audio),
      endpoints,
      audioModes: [...(video?.audio?.modes ?? [])],
      voiceControl: Boolean(video?.audio?.voice),
      alwaysAudio: Boolean(video?.audio?.always),
      multiShot: Boolean(video?.multiShot),
      videoInput: video?.api === 'omni-video',
    };
  }

  private quoteOf(request: PricedRequest, config: Configuration, credits: Millicredits): Quote {
    return {
      priceMc: credits,
      request: writeRequest(this.data, request, config),
      description: describe(config),
      catalogVersion: this.version,
      alternatives: this.alternatives(request, config, credits),
    };
  }

  /** Single changes plus the cheapest draft, each only if supported, priced and cheaper; cheapest first. */
  private alternatives(request: PricedRequest, config: Configuration, credits: Millicredits): Alternative[] {
    return this.cheaperThan(config, credits).map((c) => ({
      label: c.label,
      request: writeRequest(this.data, request, c.config),
      priceMc: c.credits,
      savesMc: subMc(credits, c.credits),
    }));
  }

  /**
   * The cheaper configurations of one configuration, kept per configuration: they do not depend on the
   * prompt, and finding them (pricing every candidate, most of which Kling does not support) is most of
   * the cost of a quote, paid by every /kling generate. The catalog is finite, so is this map.
   */
  private readonly cheaper = new Map<string, { config: Configuration; credits: Millicredits; label: string }[]>();

  private cheaperThan(
    config: Configuration,
    credits: Millicredits,
  ): { config: Configuration; credits: Millicredits; label: string }[] {
    const key = JSON.stringify(config);
    const known = this.cheaper.get(key);
    if (known) return known;
    const draft = this.cheapestOf(draftCandidates(this.data, config))?.config;
    const seen = new Set([key]);
    const out: { config: Configuration; credits: Millicredits; label: string }[] = [];
    for (const candidate of [...singleChanges(this.data, config), ...(draft ? [draft] : [])]) {
      const candidateKey = JSON.stringify(candidate);
      if (seen.has(candidateKey)) continue;
      seen.add(candidateKey);
      const price = this.priceOrUndefined(candidate);
      if (price === undefined || price >= credits) continue;
      out.push({ config: candidate, credits: price, label: changeLabel(config, candidate) });
    }
    out.sort((a, b) => a.credits - b.credits);
    this.cheaper.set(key, out);
    return out;
  }

  /** The first cheapest priced candidate (candidates come cheapest-mode and shortest first). */
  private cheapestOf(candidates: Configuration[]): { config: Configuration; credits: Millicredits } | undefined {
    let best: { config: Configuration; credits: Millicredits } | undefined;
    for (const config of candidates) {
      const credits = this.priceOrUndefined(config);
      if (credits !== undefined && (!best || credits < best.credits)) best = { config, credits };
    }
    return best;
  }

  private quoteOrUndefined(request: PricedRequest): Quote | undefined {
    try {
      return this.quote(request);
    } catch (error) {
      if (error instanceof PricingError) return undefined;
      throw error;
    }
  }

  private priceOrUndefined(config: Configuration): Millicredits | undefined {
    try {
      return priceOf(this.data, config);
    } catch (error) {
      if (error instanceof PricingError) return undefined;
      throw error;
    }
  }
}
