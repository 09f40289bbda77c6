import { describe, expect, it } from 'vitest';
import { builtInCatalog, PricingError, type PricedRequest } from '../../src/pricing';

const t2v = (body: Record<string, unknown>): PricedRequest => ({
  endpoint: 'text2video',
  body: { prompt: 'a fox running through snow', ...body },
});

/** [what, request, reason, field, message] — every refusal is a PricingError, never a default price. */
const REFUSALS: [string, PricedRequest, PricingError['reason'], string, string][] = [
  [
    'an unknown model',
    t2v({ model_name: 'kling-v9' }),
    'unknown_model',
    'model_name',
    '"kling-v9" is not a model the price list knows; use one of kling-v1, kling-v1-6, kling-v2-master, kling-v2-1-master, kling-v2-5-turbo, kling-v2-6, kling-v3, kling-v3-omni, kling-video-o1, kling-3.0-turbo.',
  ],
  [
    '--multishot on a 2.x model',
    t2v({ model_name: 'kling-v2-6', multi_shot: true }),
    'unsupported',
    'multi_shot',
    'kling-v2-6 cannot cut a prompt into shots; drop --multishot or use kling-v3, kling-v3-omni or kling-3.0-turbo.',
  ],
  [
    'a reference video on a model that is not omni',
    t2v({ model_name: 'kling-v3', video_list: [{ video_url: 'https://example.com/v.mp4' }] }),
    'unsupported',
    'video_list',
    'kling-v3 cannot take a reference video; drop --video or use kling-v3-omni or kling-video-o1.',
  ],
  [
    'a reference video with audio on kling-v3-omni (no official price)',
    t2v({ model_name: 'kling-v3-omni', sound: 'on', video_list: [{ video_url: 'https://example.com/v.mp4' }] }),
    'unpriced',
    'sound',
    'The price list (2026-12) has no price for kling-v3-omni std · 5 s · audio · with reference video, so it cannot be estimated; choose another configuration or have an admin add it to PRICING_FILE.',
  ],
  [
    '7 s on kling-video-o1',
    t2v({ model_name: 'kling-video-o1', duration: '7' }),
    'unsupported',
    'duration',
    'kling-video-o1 makes 5 or 10 s videos, not 7 s; use --duration 5 or 10.',
  ],
  [
    '4k on kling-3.0-turbo',
    t2v({ model_name: 'kling-3.0-turbo', mode: '4k' }),
    'unsupported',
    'mode',
    'kling-3.0-turbo has no 4k mode (4k is only on kling-v3 or kling-v3-omni); use --mode std or pro.',
  ],
  [
    'kling-3.0-turbo silent',
    t2v({ model_name: 'kling-3.0-turbo', sound: 'off' }),
    'unsupported',
    'sound',
    'kling-3.0-turbo always makes its video with audio; it cannot be silent.',
  ],
  [
    'kling-3.0-turbo from an image',
    {
      endpoint: 'image2video',
      body: { prompt: 'p', model_name: 'kling-3.0-turbo', image: 'https://example.com/a.png' },
    },
    'unsupported',
    'model_name',
    'kling-3.0-turbo does not do image to video; use kling-v1, kling-v1-5, kling-v1-6, kling-v2-master, kling-v2-1, kling-v2-1-master, kling-v2-5-turbo, kling-v2-6, kling-v3, kling-v3-omni or kling-video-o1.',
  ],
  [
    'a negative prompt on an omni model',
    t2v({ model_name: 'kling-video-o1', negative_prompt: 'blur' }),
    'invalid_request',
    'negative_prompt',
    'kling-video-o1 takes no negative prompt; drop --negative.',
  ],
  [
    'kling-v2-6 std with sound',
    t2v({ model_name: 'kling-v2-6', mode: 'std', sound: 'on' }),
    'unsupported',
    'sound',
    'kling-v2-6 cannot add audio in std mode; use --mode pro or drop --audio.',
  ],
  [
    'kling-v2-6 with sound and the default mode (std)',
    t2v({ model_name: 'kling-v2-6', sound: 'on' }),
    'unsupported',
    'sound',
    'kling-v2-6 cannot add audio in std mode; use --mode pro or drop --audio.',
  ],
  [
    'sound on a model without audio',
    t2v({ model_name: 'kling-v2-5-turbo', mode: 'pro', sound: 'on' }),
    'unsupported',
    'sound',
    'kling-v2-5-turbo cannot generate audio; drop --audio or use kling-v2-6, kling-v3, kling-v3-omni or kling-3.0-turbo.',
  ],
  [
    'duration 7 on a 5/10 s model',
    t2v({ model_name: 'kling-v2-6', duration: '7' }),
    'unsupported',
    'duration',
    'kling-v2-6 makes 5 or 10 s videos, not 7 s; use --duration 5 or 10.',
  ],
  [
    'duration 16 on kling-v3',
    t2v({ model_name: 'kling-v3', duration: '16' }),
    'unsupported',
    'duration',
    'kling-v3 makes 3 to 15 s videos, not 16 s; use --duration 3 to 15.',
  ],
  [
    'a duration that is not whole seconds',
    t2v({ model_name: 'kling-v3', duration: '7.5' }),
    'invalid_request',
    'duration',
    'The duration must be a whole number of seconds such as "5", not "7.5".',
  ],
  [
    '4k on a model other than kling-v3',
    t2v({ model_name: 'kling-v2-6', mode: '4k' }),
    'unsupported',
    'mode',
    'kling-v2-6 has no 4k mode (4k is only on kling-v3 or kling-v3-omni); use --mode std or pro.',
  ],
  [
    'an unknown mode',
    t2v({ model_name: 'kling-v2-6', mode: 'ultra' }),
    'invalid_request',
    'mode',
    'The mode must be std, pro or 4k, not "ultra".',
  ],
  [
    'a mode on a master model',
    t2v({ model_name: 'kling-v2-master', mode: 'pro' }),
    'unsupported',
    'mode',
    'kling-v2-master takes no mode; drop --mode.',
  ],
  [
    'a text2video request to an image2video-only model',
    t2v({ model_name: 'kling-v2-1' }),
    'unsupported',
    'model_name',
    'kling-v2-1 does not do text to video; use kling-v1, kling-v1-6, kling-v2-master, kling-v2-1-master, kling-v2-5-turbo, kling-v2-6, kling-v3, kling-v3-omni, kling-video-o1 or kling-3.0-turbo.',
  ],
  [
    'a voice list without sound',
    t2v({ model_name: 'kling-v2-6', mode: 'pro', voice_list: [{ voice_id: 'v' }] }),
    'invalid_request',
    'voice_list',
    'A voice list speaks in the soundtrack, so it needs sound "on"; add --audio or drop the voices.',
  ],
  [
    'three voices',
    t2v({
      model_name: 'kling-v2-6',
      mode: 'pro',
      sound: 'on',
      voice_list: [{ voice_id: 'a' }, { voice_id: 'b' }, { voice_id: 'c' }],
    }),
    'invalid_request',
    'voice_list',
    'voice_list must be up to two {"voice_id": "..."} entries.',
  ],
  [
    'voice control on kling-v3 (supported, but no official price)',
    t2v({ model_name: 'kling-v3', mode: 'pro', sound: 'on', voice_list: [{ voice_id: 'v' }] }),
    'unpriced',
    'voice_list',
    'The price list (2026-12) has no price for kling-v3 pro · 5 s · audio · voice control, so it cannot be estimated; choose another configuration or have an admin add it to PRICING_FILE.',
  ],
  [
    'a sound value other than on/off',
    t2v({ model_name: 'kling-v2-6', sound: true }),
    'invalid_request',
    'sound',
    'sound must be "on" or "off", not true.',
  ],
  [
    'a prompt over 2500 characters',
    t2v({ prompt: 'x'.repeat(2501) }),
    'invalid_request',
    'prompt',
    'The prompt is 2,501 characters; Kling accepts at most 2,500.',
  ],
  [
    'a negative prompt over 2500 characters',
    t2v({ negative_prompt: 'é'.repeat(2600) }),
    'invalid_request',
    'negative_prompt',
    'The negative prompt is 2,600 characters; Kling accepts at most 2,500.',
  ],
  [
    'text2video without a prompt',
    { endpoint: 'text2video', body: { model_name: 'kling-v2-6' } },
    'invalid_request',
    'prompt',
    'Text to video needs a prompt describing the video.',
  ],
  [
    'text2video with a blank prompt',
    { endpoint: 'text2video', body: { prompt: '   ' } },
    'invalid_request',
    'prompt',
    'Text to video needs a prompt describing the video.',
  ],
  [
    'image2video without an image',
    { endpoint: 'image2video', body: { prompt: 'move', model_name: 'kling-v2-6' } },
    'invalid_request',
    'image',
    'Image to video needs an image (a URL or base64); add --image.',
  ],
  [
    'n = 0 images',
    { endpoint: 'images/generations', body: { prompt: 'a cat', n: 0 } },
    'invalid_request',
    'n',
    'Kling makes 1 to 9 images per request; 0 is not possible.',
  ],
  [
    'n = 10 images',
    { endpoint: 'images/generations', body: { prompt: 'a cat', n: 10 } },
    'invalid_request',
    'n',
    'Kling makes 1 to 9 images per request; 10 is not possible.',
  ],
  [
    'n = 2.5 images',
    { endpoint: 'images/generations', body: { prompt: 'a cat', n: 2.5 } },
    'invalid_request',
    'n',
    'Kling makes 1 to 9 images per request; 2.5 is not possible.',
  ],
  [
    'image generation without a prompt',
    { endpoint: 'images/generations', body: { n: 2 } },
    'invalid_request',
    'prompt',
    'Image generation needs a prompt describing the image.',
  ],
  [
    'a negative prompt on image-to-image',
    { endpoint: 'images/generations', body: { prompt: 'a cat', image: 'ref.png', negative_prompt: 'dogs' } },
    'invalid_request',
    'negative_prompt',
    'Kling takes no negative prompt when generating from an image; drop it or the image.',
  ],
  [
    'an unknown image model',
    { endpoint: 'images/generations', body: { prompt: 'a cat', model_name: 'kling-v2-6' } },
    'unknown_model',
    'model_name',
    '"kling-v2-6" is not a model the price list knows; use one of kling-v1, kling-v1-5, kling-v2, kling-v2-new, kling-v2-1, kling-v3.',
  ],
  [
    'an endpoint the catalog does not cover',
    { endpoint: 'lip-sync' as never, body: {} },
    'invalid_request',
    'endpoint',
    'The price list does not cover the Kling endpoint "lip-sync".',
  ],
];

describe('refusals', () => {
  it.each(REFUSALS)('refuses %s', (_, request, reason, field, message) => {
    let error: unknown;
    try {
      builtInCatalog.quote(request);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PricingError);
    expect(error).toMatchObject({ reason, field, message });
    expect((error as Error).message).not.toContain('\n');
  });

  it('accepts a prompt of exactly 2500 characters, counted as characters not UTF-16 units', () => {
    expect(builtInCatalog.quote(t2v({ prompt: '🦊'.repeat(2500) })).priceMc).toBe(1000);
  });

  it('refuses the same way when a draft is asked of an unpriceable request', () => {
    expect(() => builtInCatalog.cheapest(t2v({ model_name: 'kling-v9' }))).toThrow(PricingError);
    expect(() => builtInCatalog.cheapest(t2v({ model_name: 'kling-v2-1' }))).toThrow(
      'kling-v2-1 does not do text to video',
    );
  });
});
