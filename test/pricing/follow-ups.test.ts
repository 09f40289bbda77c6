import { describe, expect, it } from 'vitest';
import { builtInCatalog, type PricedRequest } from '../../src/pricing';

/** A finished video's Extend and Upgrade as the built-in price list makes and prices them, model by model. */

const video = { id: 'vid-1', url: 'https://kling.example/v.mp4' };
const legacy = (model: string, mode?: string): PricedRequest => ({
  endpoint: 'text2video',
  body: { model_name: model, prompt: 'a fox', ...(mode && { mode }), duration: '5' },
});

describe('Extend: which path each model takes', () => {
  it.each([
    ['kling-v1', 'std', 2000],
    ['kling-v1-5', 'pro', 3500],
    ['kling-v1-6', 'std', 2000],
  ])('%s %s goes to video-extend, inheriting model and mode (%i mc)', (model, mode, mc) => {
    const quote = builtInCatalog.extension(legacy(model, mode), video)!;
    expect(quote.request).toEqual({
      endpoint: 'video-extend',
      body: { video_id: 'vid-1', prompt: 'a fox' },
      source: { model_name: model, mode },
    });
    expect(quote.priceMc).toBe(mc);
  });

  it.each([
    // model, mode, the omni model that continues it, its mode, mc at the with-video-input rate × 5 s
    ['kling-v2-6', 'pro', 'kling-v3-omni', 'pro', 6000],
    ['kling-v3', '4k', 'kling-v3-omni', '4k', 15_000],
    ['kling-video-o1', 'std', 'kling-video-o1', 'std', 4500],
    ['kling-v3-omni', 'std', 'kling-v3-omni', 'std', 4500],
  ])(
    '%s %s continues as a new shot by %s %s with the video as a feature reference',
    (model, mode, omni, omniMode, mc) => {
      const api = model.includes('omni') || model.includes('o1') ? 'omni-video' : 'text2video';
      const request = { ...legacy(model, mode), endpoint: api } as PricedRequest;
      if (api === 'omni-video') request.body.aspect_ratio = '16:9';
      const quote = builtInCatalog.extension(request, video)!;
      expect(quote.request.endpoint).toBe('omni-video');
      expect(quote.request.body).toMatchObject({
        model_name: omni,
        mode: omniMode,
        duration: '5',
        prompt: 'Based on <<<video_1>>>, generate the next shot: a fox',
        video_list: [{ video_url: video.url, refer_type: 'feature' }],
      });
      expect(quote.priceMc).toBe(mc);
    },
  );

  it('a video-extend model without the video id Kling needs offers no extension', () => {
    expect(builtInCatalog.extension(legacy('kling-v1-6', 'std'), { url: video.url })).toBeUndefined();
  });

  it('a prompt at Kling\'s limit is cut to fit after the "next shot" words', () => {
    const long = {
      ...legacy('kling-v2-6', 'std'),
      body: { ...legacy('kling-v2-6', 'std').body, prompt: 'é'.repeat(2500) },
    };
    expect([...(builtInCatalog.extension(long, video)!.request.body.prompt as string)]).toHaveLength(2500);
  });
});

describe('Upgrade: the next mode up the model has', () => {
  it.each([
    ['kling-v2-6', 'std', 'pro', 2500],
    ['kling-v3', 'pro', '4k', 15_000],
    ['kling-v1-6', 'std', 'pro', 3500],
  ])('%s %s → %s (%i mc)', (model, mode, up, mc) => {
    const quote = builtInCatalog.nextModeUp(legacy(model, mode))!;
    expect(quote.request.body).toMatchObject({ model_name: model, mode: up, prompt: 'a fox' });
    expect(quote.priceMc).toBe(mc);
  });

  it('none above the top mode, for a model without modes, or for an extension', () => {
    expect(builtInCatalog.nextModeUp(legacy('kling-v2-6', 'pro'))).toBeUndefined();
    expect(builtInCatalog.nextModeUp(legacy('kling-v3', '4k'))).toBeUndefined();
    expect(builtInCatalog.nextModeUp(legacy('kling-v2-master'))).toBeUndefined();
    const extend: PricedRequest = {
      endpoint: 'video-extend',
      body: { video_id: 'v' },
      source: { model_name: 'kling-v1' },
    };
    expect(builtInCatalog.nextModeUp(extend)).toBeUndefined();
  });

  it('kling-3.0-turbo goes from 720p to 1080p on the new-standard API', () => {
    const turbo: PricedRequest = {
      endpoint: 'text-to-video/kling-3.0-turbo',
      body: { prompt: 'a fox', settings: { resolution: '720p', duration: 5, audio: 'native' } },
    };
    const quote = builtInCatalog.nextModeUp(turbo)!;
    expect(quote.request.body).toMatchObject({ settings: { resolution: '1080p', duration: 5, audio: 'native' } });
    expect(quote.priceMc).toBe(5000);
  });
});
