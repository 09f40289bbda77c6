import { describe, expect, it } from 'vitest';
import { parseCreditsRounded } from '../../src/money/credits';
import { builtInCatalog, PricingError, type PricedRequest, type Quote } from '../../src/pricing';
import { KlingApiError } from '../../src/kling';
import { client, externalId, KEYS, settle, simulator } from './support';

/** Every configuration the catalog knows of, as Kling request bodies (unpriced ones included: both must refuse them). */
function configurations(): PricedRequest[] {
  const out: PricedRequest[] = [];
  for (const endpoint of ['text2video', 'image2video'] as const) {
    for (const model of builtInCatalog.models(endpoint)) {
      const caps = builtInCatalog.capabilities(model);
      for (const mode of caps.modes.length > 0 ? caps.modes : [undefined]) {
        for (const duration of caps.durations) {
          const sounds =
            caps.audioModes.includes(mode ?? '') || (caps.sound && caps.audioModes.length === 0)
              ? ['off', 'on']
              : ['off'];
          for (const sound of sounds) {
            const voices = sound === 'on' && caps.voiceControl ? [false, true] : [false];
            const videos = caps.videoInput ? [false, true] : [false];
            for (const [voice, video] of voices.flatMap((v) => videos.map((r) => [v, r] as const))) {
              out.push({
                endpoint,
                body: {
                  model_name: model,
                  prompt: 'a fox',
                  ...(endpoint === 'image2video' && { image: 'https://example.com/a.png' }),
                  ...(mode && { mode }),
                  duration: String(duration),
                  ...(caps.sound && { sound }),
                  ...(voice && { voice_list: [{ voice_id: 'voice-1' }] }),
                  ...(video && { video_list: [{ video_url: 'https://example.com/ref.mp4', refer_type: 'feature' }] }),
                  ...(caps.multiShot && duration === 5 && { multi_shot: true, shot_type: 'intelligence' }),
                },
              });
            }
          }
        }
      }
    }
  }
  for (const model of builtInCatalog.models('images/generations')) {
    for (const input of [{}, { image: 'https://example.com/ref.png' }]) {
      for (const resolution of ['1k', '2k']) {
        for (const n of [1, 3])
          out.push({
            endpoint: 'images/generations',
            body: { model_name: model, prompt: 'a kite', resolution, n, ...input },
          });
      }
    }
  }
  for (const model of builtInCatalog.models('kolors-virtual-try-on')) {
    out.push({
      endpoint: 'kolors-virtual-try-on',
      body: { model_name: model, human_image: 'https://example.com/h.png', cloth_image: 'https://example.com/c.png' },
    });
  }
  return out;
}

/** The quote (its request is what the bot sends: each model on its own API's path, in its body shape), or the refusal. */
function sent(request: PricedRequest): Quote | PricingError {
  try {
    return builtInCatalog.quote(request);
  } catch (error) {
    if (error instanceof PricingError) return error;
    throw error;
  }
}

function quoted(request: PricedRequest): number | PricingError {
  const quote = sent(request);
  return quote instanceof PricingError ? quote : quote.priceMc;
}

describe('the simulator charges exactly what the pricing catalog quotes', () => {
  it('for every priced model, mode, duration, sound and voice setting, image option and try-on model', async () => {
    const sim = await simulator({ concurrency: 100_000, timings: { queuedMs: 0, processingMs: 0 } });
    // The new-standard API (3.0 Turbo) takes an API key only.
    const kling = client(sim, { auth: { apiKey: KEYS.apiKey } });
    const requests = configurations();
    let priced = 0;
    const mismatches: string[] = [];
    for (let i = 0; i < requests.length; i += 32) {
      await Promise.all(
        requests.slice(i, i + 32).map(async (request) => {
          const expected = sent(request);
          const target = expected instanceof PricingError ? request : expected.request;
          const label = `${target.endpoint} ${JSON.stringify(target.body)}`;
          const created = await kling
            .create(target.endpoint, { ...target.body, external_task_id: externalId() })
            .catch((e: unknown) => e);
          if (expected instanceof PricingError) {
            if (!(created instanceof KlingApiError) || ![1201, 1203].includes(created.code))
              mismatches.push(`${label}: catalog refuses (${expected.reason}), simulator did not`);
            return;
          }
          if (created instanceof Error) return mismatches.push(`${label}: simulator refused: ${created.message}`);
          const done = await settle(kling, target.endpoint, (created as { taskId: string }).taskId);
          priced += 1;
          if (parseCreditsRounded(done.finalUnitDeduction!) !== expected.priceMc) {
            mismatches.push(`${label}: charged ${done.finalUnitDeduction}, quoted ${expected.priceMc / 1000}`);
          }
        }),
      );
    }
    expect(mismatches).toEqual([]);
    expect(priced).toBeGreaterThan(50);
    const paths = new Set(sim.requests.filter((r) => r.method === 'POST').map((r) => r.path));
    expect(paths).toContain('/v1/videos/omni-video');
    expect(paths).toContain('/text-to-video/kling-3.0-turbo');
  }, 240_000); // a few hundred tasks over HTTP; slow only on a crowded machine

  it('for every video-extend source model and mode', async () => {
    const sim = await simulator({ concurrency: 1000, timings: { queuedMs: 0, processingMs: 0 } });
    const kling = client(sim);
    let checked = 0;
    for (const model of builtInCatalog.models('video-extend')) {
      const caps = builtInCatalog.capabilities(model);
      const endpoint = caps.endpoints.includes('text2video') ? 'text2video' : 'image2video';
      for (const mode of caps.modes.length > 0 ? caps.modes : [undefined]) {
        const body = {
          model_name: model,
          prompt: 'p',
          image: 'https://example.com/a.png',
          duration: '5',
          ...(mode && { mode }),
        };
        const expected = quoted({
          endpoint: 'video-extend',
          body: { video_id: 'v' },
          source: { model_name: model, ...(mode && { mode }) },
        });
        if (expected instanceof PricingError) continue;
        const source = await settle(
          kling,
          endpoint,
          (await kling.create(endpoint, { ...body, external_task_id: externalId() })).taskId,
        );
        const extend = await kling.create('video-extend', {
          video_id: source.videos[0]!.id,
          external_task_id: externalId(),
        });
        const done = await settle(kling, 'video-extend', extend.taskId);
        expect(parseCreditsRounded(done.finalUnitDeduction!), `${model} ${mode}`).toBe(expected);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(4);
  });
});
