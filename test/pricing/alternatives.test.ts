import { describe, expect, it } from 'vitest';
import { builtInCatalog, type PricedRequest, type Quote } from '../../src/pricing';

const t2v = (body: Record<string, unknown>): PricedRequest => ({
  endpoint: 'text2video',
  body: { prompt: 'a fox', ...body },
});
const summary = (quote: Quote) => quote.alternatives.map((a) => [a.label, a.priceMc, a.savesMc]);

describe('cheaper alternatives', () => {
  it('kling-v2-6 pro 10 s with audio and voices: the draft, no audio, 5 s, no voice control — cheapest first', () => {
    const quote = builtInCatalog.quote(
      t2v({ model_name: 'kling-v2-6', mode: 'pro', duration: '10', sound: 'on', voice_list: [{ voice_id: 'v' }] }),
    );
    expect(quote.priceMc).toBe(12_000);
    // std with audio does not exist on kling-v2-6, and the turbo model has no audio: neither is offered.
    expect(summary(quote)).toEqual([
      ['std instead of pro, 5 s instead of 10, no audio', 1500, 10_500],
      ['no audio', 5000, 7000],
      ['5 s instead of 10', 6000, 6000],
      ['no voice control', 10_000, 2000],
    ]);
    expect(quote.alternatives[1]!.request).toEqual({
      endpoint: 'text2video',
      body: { prompt: 'a fox', model_name: 'kling-v2-6', mode: 'pro', duration: '10', sound: 'off' },
    });
  });

  it('kling-v2-6 pro 10 s silent: the turbo model costs the same, so it is not offered', () => {
    const quote = builtInCatalog.quote(t2v({ model_name: 'kling-v2-6', mode: 'pro', duration: '10' }));
    expect(summary(quote)).toEqual([
      ['std instead of pro, 5 s instead of 10', 1500, 3500],
      ['5 s instead of 10', 2500, 2500],
      ['std instead of pro', 3000, 2000],
    ]);
  });

  it('a master model: the turbo model (with a mode) before the shorter clip', () => {
    const quote = builtInCatalog.quote(t2v({ model_name: 'kling-v2-master', duration: '10' }));
    expect(summary(quote)).toEqual([
      ['kling-v2-5-turbo instead of kling-v2-master', 3000, 17_000],
      ['5 s instead of 10', 10_000, 10_000],
    ]);
    expect(quote.alternatives[0]!.request.body).toEqual({
      prompt: 'a fox',
      model_name: 'kling-v2-5-turbo',
      mode: 'std',
      duration: '10',
    });
  });

  it('kling-v3 4k 15 s: lower modes and the usual shorter clips', () => {
    const quote = builtInCatalog.quote(t2v({ model_name: 'kling-v3', mode: '4k', duration: '15', sound: 'on' }));
    expect(summary(quote)).toEqual([
      ['std instead of 4k, 3 s instead of 15, no audio', 1800, 43_200],
      ['3 s instead of 15', 9000, 36_000],
      ['std instead of 4k', 13_500, 31_500],
      ['5 s instead of 15', 15_000, 30_000],
      ['pro instead of 4k', 18_000, 27_000],
      ['10 s instead of 15', 30_000, 15_000],
    ]);
  });

  it('images: fewer images when n > 1 (2k costs the same as 1k on kling-v3, so it is not offered)', () => {
    const quote = builtInCatalog.quote({
      endpoint: 'images/generations',
      body: { prompt: 'a cat', n: 4, resolution: '2k' },
    });
    expect(summary(quote)).toEqual([['1 image instead of 4', 200, 600]]);
  });

  it('nothing cheaper exists for the cheapest configuration', () => {
    expect(builtInCatalog.quote(t2v({})).alternatives).toEqual([]);
    expect(builtInCatalog.quote(t2v({ model_name: 'kling-v2-5-turbo' })).alternatives).toEqual([]);
  });

  it('every alternative offered is a supported request that quotes to its own price, below the original', () => {
    const requests: PricedRequest[] = [];
    for (const model of builtInCatalog.models('image2video')) {
      const caps = builtInCatalog.capabilities(model);
      for (const mode of caps.modes.length ? caps.modes : [undefined]) {
        for (const duration of caps.durations) {
          for (const sound of caps.audioModes.includes(mode ?? '') ? ['off', 'on'] : ['off']) {
            requests.push({
              endpoint: 'image2video',
              body: {
                prompt: 'move',
                image: 'i.png',
                model_name: model,
                ...(mode ? { mode } : {}),
                duration: String(duration),
                sound,
              },
            });
          }
        }
      }
    }
    expect(requests.length).toBeGreaterThan(60);
    for (const request of requests) {
      const quote = builtInCatalog.quote(request);
      const credits = quote.alternatives.map((a) => a.priceMc);
      expect(credits).toEqual([...credits].sort((a, b) => a - b));
      for (const alternative of quote.alternatives) {
        expect(builtInCatalog.quote(alternative.request).priceMc).toBe(alternative.priceMc);
        expect(alternative.savesMc).toBe(quote.priceMc - alternative.priceMc);
        expect(alternative.savesMc).toBeGreaterThan(0);
      }
    }
  });
});

describe('cheapest (for --draft)', () => {
  it('keeps the model and prompt and picks the cheapest silent mode and duration', () => {
    const draft = builtInCatalog.cheapest(t2v({ model_name: 'kling-v3', mode: 'pro', duration: '10', sound: 'on' }));
    expect(draft.priceMc).toBe(1800);
    expect(draft.request.body).toEqual({
      prompt: 'a fox',
      model_name: 'kling-v3',
      mode: 'std',
      duration: '3',
      sound: 'off',
    });
    expect(draft.description).toBe('kling-v3 std · 3 s');
  });

  it('fixes what the draft replaces anyway (an unsupported duration or audio in std)', () => {
    expect(builtInCatalog.cheapest(t2v({ model_name: 'kling-v2-5-turbo', duration: '7' })).priceMc).toBe(1500);
    expect(builtInCatalog.cheapest(t2v({ model_name: 'kling-v2-6', mode: 'std', sound: 'on' })).priceMc).toBe(1500);
  });

  it('a master model drafts at 5 s and its turbo alternative still shows', () => {
    const draft = builtInCatalog.cheapest({
      endpoint: 'image2video',
      body: { image: 'i.png', model_name: 'kling-v2-1-master', duration: '10' },
    });
    expect(draft.priceMc).toBe(10_000);
    expect(draft.alternatives.map((a) => a.label)).toEqual(['kling-v2-5-turbo instead of kling-v2-1-master']);
  });

  it('images keep their count; extension and try-on have one price', () => {
    expect(
      builtInCatalog.cheapest({ endpoint: 'images/generations', body: { prompt: 'a cat', n: 3, resolution: '2k' } })
        .priceMc,
    ).toBe(600);
    expect(
      builtInCatalog.cheapest({
        endpoint: 'video-extend',
        body: { video_id: 'v' },
        source: { model_name: 'kling-v1', mode: 'pro' },
      }).priceMc,
    ).toBe(3500);
    expect(
      builtInCatalog.cheapest({ endpoint: 'kolors-virtual-try-on', body: { human_image: 'p', cloth_image: 'c' } })
        .priceMc,
    ).toBe(500);
  });

  it('gives each request its own alternatives when the same configuration is quoted again with other words', () => {
    const config = { model_name: 'kling-v2-6', mode: 'pro', duration: '10', sound: 'on' };
    const first = builtInCatalog.quote(t2v({ ...config, prompt: 'a fox' }));
    const second = builtInCatalog.quote(t2v({ ...config, prompt: 'a hare', negative_prompt: 'blur' }));
    expect(summary(second)).toEqual(summary(first));
    for (const a of second.alternatives)
      expect(a.request.body).toMatchObject({ prompt: 'a hare', negative_prompt: 'blur' });
    for (const a of first.alternatives) expect(a.request.body).not.toHaveProperty('negative_prompt');
  });
});
