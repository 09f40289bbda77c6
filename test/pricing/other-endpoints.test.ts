import { describe, expect, it } from 'vitest';
import { builtInCatalog, PricingError, type PricedRequest } from '../../src/pricing';

function refusal(request: PricedRequest): PricingError {
  try {
    builtInCatalog.quote(request);
  } catch (error) {
    if (error instanceof PricingError) return error;
    throw error;
  }
  throw new Error('expected a PricingError');
}

describe('image generation (image units of 0.025 credit, × n)', () => {
  it.each([
    ['kling-v3', {}, 1, 200],
    ['kling-v3', {}, 9, 1800],
    ['kling-v3', { resolution: '2k' }, 4, 800],
    ['kling-v3', { image: 'ref.png' }, 2, 400],
    ['kling-v2-1', {}, 3, 300],
    ['kling-v2-1', { image: 'ref.png' }, 3, 600],
    ['kling-v1-5', {}, 1, 100],
    ['kling-v1-5', { image: 'ref.png' }, 1, 200],
    ['kling-v2', {}, 5, 500],
    ['kling-v2-new', { image: 'ref.png' }, 2, 400],
    ['kling-v1', {}, 9, 225],
    ['kling-v1', { image: 'ref.png' }, 1, 25],
  ] as const)('%s %o × %i = %i millicredits', (model, extra, n, mc) => {
    const quote = builtInCatalog.quote({
      endpoint: 'images/generations',
      body: { prompt: 'a cat', model_name: model, n, ...extra },
    });
    expect(quote.priceMc).toBe(mc);
  });

  it('defaults to kling-v3 and one image, and says so', () => {
    const quote = builtInCatalog.quote({ endpoint: 'images/generations', body: { prompt: 'a cat' } });
    expect(quote.priceMc).toBe(200);
    expect(quote.request.body).toEqual({ prompt: 'a cat', model_name: 'kling-v3', n: 1 });
    expect(quote.description).toBe('kling-v3 · 1 image · 1k');
  });

  it('refuses a restyle model without an image and a resolution with no published price', () => {
    const restyle = refusal({ endpoint: 'images/generations', body: { prompt: 'a cat', model_name: 'kling-v2-new' } });
    expect([restyle.reason, restyle.field, restyle.message]).toEqual([
      'unsupported',
      'image',
      'kling-v2-new only restyles an image; add an image.',
    ]);
    const twoK = refusal({
      endpoint: 'images/generations',
      body: { prompt: 'a cat', model_name: 'kling-v2-1', resolution: '2k' },
    });
    expect([twoK.reason, twoK.field]).toEqual(['unpriced', 'resolution']);
    const old = refusal({
      endpoint: 'images/generations',
      body: { prompt: 'a cat', model_name: 'kling-v1', resolution: '2k' },
    });
    expect([old.reason, old.field, old.message]).toEqual([
      'unsupported',
      'resolution',
      'kling-v1 makes 1k images, not 2k.',
    ]);
  });
});

describe('virtual try-on (0.5 credit per image)', () => {
  it.each(['kolors-virtual-try-on-v1', 'kolors-virtual-try-on-v1-5'])('%s costs 0.5', (model) => {
    expect(
      builtInCatalog.quote({
        endpoint: 'kolors-virtual-try-on',
        body: { model_name: model, human_image: 'p.png', cloth_image: 'c.png' },
      }).priceMc,
    ).toBe(500);
  });

  it('defaults the model and needs both photos', () => {
    const quote = builtInCatalog.quote({
      endpoint: 'kolors-virtual-try-on',
      body: { human_image: 'p.png', cloth_image: 'c.png' },
    });
    expect(quote.request.body.model_name).toBe('kolors-virtual-try-on-v1');
    const missing = refusal({ endpoint: 'kolors-virtual-try-on', body: { human_image: 'p.png' } });
    expect([missing.reason, missing.field, missing.message]).toEqual([
      'invalid_request',
      'cloth_image',
      'Virtual try-on needs a photo of the garment (cloth_image).',
    ]);
  });
});

describe('video extension (inherits model and mode from the source video)', () => {
  it.each([
    ['kling-v1', 'std', 2000],
    ['kling-v1', 'pro', 3500],
    ['kling-v1-5', 'std', 2000],
    ['kling-v1-5', 'pro', 3500],
    ['kling-v1-6', 'std', 2000],
    ['kling-v1-6', 'pro', 3500],
  ])('extending a %s %s video costs %i millicredits', (model, mode, mc) => {
    const quote = builtInCatalog.quote({
      endpoint: 'video-extend',
      body: { video_id: 'v1', prompt: 'keep running' },
      source: { model_name: model, mode },
    });
    expect(quote.priceMc).toBe(mc);
    expect(quote.description).toBe(`extend a ${model} ${mode} video · +4–5 s`);
    expect(quote.alternatives).toEqual([]);
  });

  it('takes std when the source mode is not known, and leaves the body as it is', () => {
    const quote = builtInCatalog.quote({
      endpoint: 'video-extend',
      body: { video_id: 'v1' },
      source: { model_name: 'kling-v1-6' },
    });
    expect(quote.priceMc).toBe(2000);
    expect(quote.request).toEqual({
      endpoint: 'video-extend',
      body: { video_id: 'v1' },
      source: { model_name: 'kling-v1-6', mode: 'std' },
    });
  });

  it('refuses sources Kling cannot extend, unknown sources and a missing source or video_id', () => {
    const v26 = refusal({
      endpoint: 'video-extend',
      body: { video_id: 'v1' },
      source: { model_name: 'kling-v2-6', mode: 'pro' },
    });
    expect([v26.reason, v26.field, v26.message]).toEqual([
      'unsupported',
      'source',
      'Kling can only extend videos made by kling-v1, kling-v1-5 or kling-v1-6; this one was made by kling-v2-6.',
    ]);
    expect(
      refusal({ endpoint: 'video-extend', body: { video_id: 'v1' }, source: { model_name: 'kling-v7' } }).reason,
    ).toBe('unknown_model');
    const noSource = refusal({ endpoint: 'video-extend', body: { video_id: 'v1' } });
    expect([noSource.reason, noSource.field]).toEqual(['invalid_request', 'source']);
    const noVideo = refusal({ endpoint: 'video-extend', body: {}, source: { model_name: 'kling-v1' } });
    expect([noVideo.reason, noVideo.field, noVideo.message]).toEqual([
      'invalid_request',
      'video_id',
      'Extending a video needs the video_id of the video to extend.',
    ]);
  });
});

describe('capabilities and models', () => {
  it('describe what each model supports per endpoint', () => {
    expect(builtInCatalog.capabilities('kling-v2-6')).toEqual({
      modes: ['std', 'pro'],
      durations: [5, 10],
      sound: true,
      endpoints: ['text2video', 'image2video'],
      audioModes: ['pro'],
      voiceControl: true,
      alwaysAudio: false,
      multiShot: false,
      videoInput: false,
    });
    expect(builtInCatalog.capabilities('kling-3.0-turbo')).toMatchObject({
      modes: ['std', 'pro'],
      alwaysAudio: true,
      multiShot: true,
      videoInput: false,
      endpoints: ['text2video'],
    });
    expect(builtInCatalog.capabilities('kling-video-o1')).toMatchObject({
      durations: [5, 10],
      sound: false,
      multiShot: false,
      videoInput: true,
    });
    expect(builtInCatalog.capabilities('kling-v2-master')).toMatchObject({
      modes: [],
      durations: [5, 10],
      sound: false,
    });
    expect(builtInCatalog.capabilities('kling-v3')).toMatchObject({
      modes: ['std', 'pro', '4k'],
      durations: [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    });
    expect(builtInCatalog.capabilities('kling-v1-5').endpoints).toEqual([
      'image2video',
      'video-extend',
      'images/generations',
    ]);
    expect(builtInCatalog.capabilities('kolors-virtual-try-on-v1').endpoints).toEqual(['kolors-virtual-try-on']);
    expect(() => builtInCatalog.capabilities('kling-v9')).toThrow(PricingError);
  });

  it('lists the models of each endpoint', () => {
    expect(builtInCatalog.models('text2video')).toEqual([
      'kling-v1',
      'kling-v1-6',
      'kling-v2-master',
      'kling-v2-1-master',
      'kling-v2-5-turbo',
      'kling-v2-6',
      'kling-v3',
      'kling-v3-omni',
      'kling-video-o1',
      'kling-3.0-turbo',
    ]);
    expect(builtInCatalog.models('image2video')).toHaveLength(11);
    expect(builtInCatalog.models('omni-video')).toEqual(['kling-v3-omni', 'kling-video-o1']);
    expect(builtInCatalog.models('text-to-video/kling-3.0-turbo')).toEqual(['kling-3.0-turbo']);
    expect(builtInCatalog.models('video-extend')).toEqual(['kling-v1', 'kling-v1-5', 'kling-v1-6']);
    expect(builtInCatalog.models('images/generations')).toEqual([
      'kling-v1',
      'kling-v1-5',
      'kling-v2',
      'kling-v2-new',
      'kling-v2-1',
      'kling-v3',
    ]);
  });
});
