import { describe, expect, it } from 'vitest';
import { requestKey } from '../../src/generations/request-key';
import { builtInCatalog, type PricedRequest } from '../../src/pricing';

/** The duplicate check keys the request as the bot sends it, so it is computed on the quote's request. */
const key = (body: Record<string, unknown>, endpoint: PricedRequest['endpoint'] = 'text2video') =>
  requestKey(builtInCatalog.quote({ endpoint, body }).request);

describe('request keys of the new models', () => {
  it('tell multi-shot, a reference video, the mode and the model apart', () => {
    const turbo = { prompt: 'a street band', model_name: 'kling-3.0-turbo' };
    const omni = { prompt: 'a dance', model_name: 'kling-v3-omni' };
    const keys = [
      key(turbo),
      key({ ...turbo, multi_shot: true }),
      key({ ...turbo, mode: 'pro' }),
      key(omni),
      key({ ...omni, video_list: [{ video_url: 'https://example.com/a.mp4', refer_type: 'feature' }] }),
      key({ ...omni, video_list: [{ video_url: 'https://example.com/b.mp4', refer_type: 'feature' }] }),
      key({ ...omni, model_name: 'kling-video-o1' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("match the same request however it is spelled: defaults, spacing, and the new standard's options", () => {
    expect(key({ prompt: 'a  street band ', model_name: 'kling-3.0-turbo' })).toBe(
      key({ prompt: 'a street band', model_name: 'kling-3.0-turbo', mode: 'std', duration: '5' }),
    );
    const sent = builtInCatalog.quote({
      endpoint: 'text2video',
      body: { prompt: 'a kite', model_name: 'kling-3.0-turbo' },
    }).request;
    const withOptions = {
      ...sent,
      body: { ...sent.body, options: { external_task_id: 'kbb_1', callback_url: 'https://bot/cb' } },
    };
    expect(requestKey(withOptions)).toBe(requestKey(sent));
  });
});
