import { describe, expect, it } from 'vitest';
import { parseCredits } from '../../src/money/credits';
import { builtInCatalog, type KlingEndpoint } from '../../src/pricing';

type Row = {
  models: string[];
  mode?: string;
  sound?: boolean;
  voice?: boolean;
  video?: boolean;
  seconds: Record<string, string>;
};

/**
 * Kling's per-clip price table (2026), row by row (5 s and 10 s columns), plus kling-v3 at 3 and 15 s (rate × seconds),
 * and the 2026 per-second table for kling-v3-omni and kling-video-o1 (with and without a reference video)
 * and kling-3.0-turbo (always with audio: 720p = std, 1080p = pro).
 */
const TABLE: Row[] = [
  { models: ['kling-v1'], mode: 'std', seconds: { 5: '1', 10: '2' } },
  { models: ['kling-v1'], mode: 'pro', seconds: { 5: '3.5', 10: '7' } },
  { models: ['kling-v1-5', 'kling-v1-6', 'kling-v2-1'], mode: 'std', seconds: { 5: '2', 10: '4' } },
  { models: ['kling-v1-5', 'kling-v1-6', 'kling-v2-1'], mode: 'pro', seconds: { 5: '3.5', 10: '7' } },
  { models: ['kling-v2-master', 'kling-v2-1-master'], seconds: { 5: '10', 10: '20' } },
  { models: ['kling-v2-5-turbo'], mode: 'std', seconds: { 5: '1.5', 10: '3' } },
  { models: ['kling-v2-5-turbo'], mode: 'pro', seconds: { 5: '2.5', 10: '5' } },
  { models: ['kling-v2-6'], mode: 'std', seconds: { 5: '1.5', 10: '3' } },
  { models: ['kling-v2-6'], mode: 'pro', seconds: { 5: '2.5', 10: '5' } },
  { models: ['kling-v2-6'], mode: 'pro', sound: true, seconds: { 5: '5', 10: '10' } },
  { models: ['kling-v2-6'], mode: 'pro', sound: true, voice: true, seconds: { 5: '6', 10: '12' } },
  { models: ['kling-v3'], mode: 'std', seconds: { 3: '1.8', 5: '3', 10: '6', 15: '9' } },
  { models: ['kling-v3'], mode: 'std', sound: true, seconds: { 3: '2.7', 5: '4.5', 10: '9', 15: '13.5' } },
  { models: ['kling-v3'], mode: 'pro', seconds: { 3: '2.4', 5: '4', 10: '8', 15: '12' } },
  { models: ['kling-v3'], mode: 'pro', sound: true, seconds: { 3: '3.6', 5: '6', 10: '12', 15: '18' } },
  { models: ['kling-v3'], mode: '4k', seconds: { 3: '9', 5: '15', 10: '30', 15: '45' } },
  { models: ['kling-v3'], mode: '4k', sound: true, seconds: { 3: '9', 5: '15', 10: '30', 15: '45' } },
  { models: ['kling-v3-omni'], mode: 'std', seconds: { 3: '1.8', 5: '3', 10: '6', 15: '9' } },
  { models: ['kling-v3-omni'], mode: 'pro', seconds: { 5: '4', 10: '8', 15: '12' } },
  { models: ['kling-v3-omni'], mode: '4k', seconds: { 5: '15', 10: '30' } },
  { models: ['kling-v3-omni'], mode: 'std', sound: true, seconds: { 5: '4', 10: '8', 15: '12' } },
  { models: ['kling-v3-omni'], mode: 'pro', sound: true, seconds: { 5: '5', 10: '10', 15: '15' } },
  { models: ['kling-v3-omni'], mode: '4k', sound: true, seconds: { 5: '15' } },
  { models: ['kling-v3-omni'], mode: 'std', video: true, seconds: { 5: '4.5', 10: '9', 15: '13.5' } },
  { models: ['kling-v3-omni'], mode: 'pro', video: true, seconds: { 5: '6', 10: '12', 15: '18' } },
  { models: ['kling-v3-omni'], mode: '4k', video: true, seconds: { 5: '15' } },
  { models: ['kling-video-o1'], mode: 'std', seconds: { 5: '3', 10: '6' } },
  { models: ['kling-video-o1'], mode: 'pro', seconds: { 5: '4', 10: '8' } },
  { models: ['kling-video-o1'], mode: 'std', video: true, seconds: { 5: '4.5', 10: '9' } },
  { models: ['kling-video-o1'], mode: 'pro', video: true, seconds: { 5: '6', 10: '12' } },
  { models: ['kling-3.0-turbo'], mode: 'std', seconds: { 3: '2.4', 5: '4', 10: '8', 15: '12' } },
  { models: ['kling-3.0-turbo'], mode: 'pro', seconds: { 3: '3', 5: '5', 10: '10', 15: '15' } },
];

const IMAGE_TO_VIDEO_ONLY = new Set(['kling-v1-5', 'kling-v2-1']);
const TEXT_TO_VIDEO_ONLY = new Set(['kling-3.0-turbo']);

const cases = TABLE.flatMap((row) =>
  row.models.flatMap((model) =>
    (IMAGE_TO_VIDEO_ONLY.has(model)
      ? ['image2video']
      : TEXT_TO_VIDEO_ONLY.has(model)
        ? ['text2video']
        : ['text2video', 'image2video']
    ).flatMap((endpoint) =>
      Object.entries(row.seconds).map(([seconds, credits]) => ({
        endpoint: endpoint as KlingEndpoint,
        model,
        ...row,
        seconds,
        credits,
      })),
    ),
  ),
);

function body(c: (typeof cases)[number]): Record<string, unknown> {
  return {
    prompt: 'a fox running through snow',
    ...(c.endpoint === 'image2video' ? { image: 'https://example.com/fox.png' } : {}),
    model_name: c.model,
    ...(c.mode ? { mode: c.mode } : {}),
    duration: c.seconds,
    ...(c.sound ? { sound: 'on' } : {}),
    ...(c.voice ? { voice_list: [{ voice_id: 'narrator' }] } : {}),
    ...(c.video ? { video_list: [{ video_url: 'https://example.com/ref.mp4', refer_type: 'feature' }] } : {}),
  };
}

describe("Kling's per-clip prices", () => {
  it.each(
    cases.map(
      (c) =>
        [
          `${c.endpoint} ${c.model} ${c.mode ?? '(no mode)'}${c.sound ? ' audio' : ''}${c.voice ? ' voice' : ''} ${c.seconds} s = ${c.credits}`,
          c,
        ] as const,
    ),
  )('%s', (_, c) => {
    const quote = builtInCatalog.quote({ endpoint: c.endpoint, body: body(c) });
    expect(quote.priceMc).toBe(parseCredits(c.credits));
    expect(quote.catalogVersion).toBe('2026-12');
  });

  it('covers every video model of the catalog on every endpoint it supports', () => {
    for (const endpoint of ['text2video', 'image2video'] as const) {
      const tested = new Set(cases.filter((c) => c.endpoint === endpoint).map((c) => c.model));
      expect([...tested].sort()).toEqual(builtInCatalog.models(endpoint).sort());
    }
  });

  it('prices kling-v3 at every second from 3 to 15 as rate × seconds', () => {
    for (let s = 3; s <= 15; s++) {
      const quote = builtInCatalog.quote({
        endpoint: 'text2video',
        body: { prompt: 'x', model_name: 'kling-v3', mode: 'pro', duration: String(s), sound: 'on' },
      });
      expect(quote.priceMc).toBe(1200 * s);
    }
  });
});

describe('normalized request', () => {
  it('fills Kling defaults: kling-v1, std, 5 s, and no sound field on a model without audio', () => {
    const original = { prompt: 'a fox' };
    const quote = builtInCatalog.quote({ endpoint: 'text2video', body: original });
    expect(quote.request).toEqual({
      endpoint: 'text2video',
      body: { prompt: 'a fox', model_name: 'kling-v1', mode: 'std', duration: '5' },
    });
    expect(quote.priceMc).toBe(1000);
    expect(quote.description).toBe('kling-v1 std · 5 s');
    expect(original).toEqual({ prompt: 'a fox' });
  });

  it('writes sound "off" for a model that can make sound, and the duration as a string', () => {
    const quote = builtInCatalog.quote({
      endpoint: 'image2video',
      body: { image: 'img', model_name: 'kling-v2-6', duration: 10 },
    });
    expect(quote.request.body).toEqual({
      image: 'img',
      model_name: 'kling-v2-6',
      mode: 'std',
      duration: '10',
      sound: 'off',
    });
    expect(quote.description).toBe('kling-v2-6 std · 10 s · from image');
  });

  it('gives master models no mode and describes audio and voice control', () => {
    expect(
      builtInCatalog.quote({ endpoint: 'text2video', body: { prompt: 'x', model_name: 'kling-v2-1-master' } }).request
        .body,
    ).not.toHaveProperty('mode');
    const quote = builtInCatalog.quote({
      endpoint: 'text2video',
      body: {
        prompt: 'x',
        model_name: 'kling-v2-6',
        mode: 'pro',
        duration: '10',
        sound: 'on',
        voice_list: [{ voice_id: 'v' }],
      },
    });
    expect(quote.description).toBe('kling-v2-6 pro · 10 s · audio · voice control');
  });

  it('writes kling-v3-omni and kling-video-o1 as omni-video bodies, the reference video and first frame included', () => {
    const omni = builtInCatalog.quote({
      endpoint: 'text2video',
      body: {
        prompt: 'x',
        model_name: 'kling-v3-omni',
        mode: 'pro',
        duration: '8',
        multi_shot: true,
        video_list: [{ video_url: 'https://v', refer_type: 'feature' }],
      },
    });
    expect(omni.request).toEqual({
      endpoint: 'omni-video',
      body: {
        prompt: 'x',
        model_name: 'kling-v3-omni',
        mode: 'pro',
        duration: '8',
        sound: 'off',
        aspect_ratio: '16:9',
        video_list: [{ video_url: 'https://v', refer_type: 'feature' }],
        multi_shot: true,
        shot_type: 'intelligence',
      },
    });
    expect(omni.description).toBe('kling-v3-omni pro · 8 s · multi-shot · with reference video');
    const o1 = builtInCatalog.quote({
      endpoint: 'image2video',
      body: { prompt: 'x', image: 'https://i', model_name: 'kling-video-o1' },
    });
    expect(o1.request).toEqual({
      endpoint: 'omni-video',
      body: {
        prompt: 'x',
        model_name: 'kling-video-o1',
        mode: 'std',
        duration: '5',
        image_list: [{ image_url: 'https://i', type: 'first_frame' }],
      },
    });
    // What the bot sends prices the same when read back, as the simulator reads it.
    expect(builtInCatalog.quote(omni.request).priceMc).toBe(omni.priceMc);
    expect(builtInCatalog.quote(o1.request).request).toEqual(o1.request);
  });

  it('writes kling-3.0-turbo as a new-standard body, always with native audio and an explicit multi_shot', () => {
    const single = builtInCatalog.quote({
      endpoint: 'text2video',
      body: { prompt: 'x', model_name: 'kling-3.0-turbo', mode: 'pro', duration: '12', aspect_ratio: '9:16' },
    });
    expect(single.request).toEqual({
      endpoint: 'text-to-video/kling-3.0-turbo',
      body: {
        prompt: 'x',
        settings: { resolution: '1080p', duration: 12, audio: 'native', aspect_ratio: '9:16', multi_shot: false },
      },
    });
    expect(single.priceMc).toBe(12_000);
    const shots = builtInCatalog.quote({
      endpoint: 'text2video',
      body: { prompt: 'x', model_name: 'kling-3.0-turbo', multi_shot: true, shot_type: 'intelligence' },
    });
    expect(shots.request.body.settings).toEqual({
      resolution: '720p',
      duration: 5,
      audio: 'native',
      aspect_ratio: '16:9',
      multi_shot: true,
      shot_type: 'intelligence',
    });
    // Kling's own default on the new standard is multi-shot: a body without multi_shot is read as one.
    expect(builtInCatalog.quote({ endpoint: 'text-to-video/kling-3.0-turbo', body: { prompt: 'x' } }).description).toBe(
      'kling-3.0-turbo std · 5 s · audio · multi-shot',
    );
    expect(builtInCatalog.quote(single.request).request).toEqual(single.request);
  });

  it('offers kling-3.0-turbo as the cheaper model for kling-v3 with audio', () => {
    const quote = builtInCatalog.quote({
      endpoint: 'text2video',
      body: { prompt: 'x', model_name: 'kling-v3', mode: 'pro', sound: 'on' },
    });
    const turbo = quote.alternatives.find((a) => a.label === 'kling-3.0-turbo instead of kling-v3');
    expect(turbo).toMatchObject({ priceMc: 5000, request: { endpoint: 'text-to-video/kling-3.0-turbo' } });
  });

  it('treats an empty voice_list as no voice control', () => {
    const quote = builtInCatalog.quote({
      endpoint: 'text2video',
      body: { prompt: 'x', model_name: 'kling-v2-6', mode: 'pro', sound: 'on', voice_list: [] },
    });
    expect(quote.priceMc).toBe(5000);
    expect(quote.request.body).not.toHaveProperty('voice_list');
  });
});

describe('exact sums', () => {
  it('adds thousands of quotes with no float drift', () => {
    // 0.6 × 7 and 0.025 × n are inexact in binary floating point; millicredits are integers.
    let total = 0;
    let floatTotal = 0;
    for (let i = 0; i < 1000; i++) {
      const video = builtInCatalog.quote({
        endpoint: 'text2video',
        body: { prompt: 'x', model_name: 'kling-v3', duration: '7' },
      });
      const image = builtInCatalog.quote({
        endpoint: 'images/generations',
        body: { prompt: 'x', model_name: 'kling-v1', n: 3 },
      });
      expect(Number.isInteger(video.priceMc) && Number.isInteger(image.priceMc)).toBe(true);
      total += video.priceMc + image.priceMc;
      floatTotal += 0.6 * 7 + 0.025 * 3;
    }
    expect(total).toBe(parseCredits('4275'));
    expect(floatTotal).not.toBe(4275); // what the catalog avoids
  });
});
