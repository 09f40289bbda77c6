import { describe, expect, it } from 'vitest';
import { builtInCatalog } from '../../src/pricing';
import { savingsTips } from '../../src/digest/savings';
import { mc } from '../../src/money/credits';

const quote = (body: Record<string, unknown>) =>
  builtInCatalog.quote({ endpoint: 'text2video', body: { prompt: 'a fox', ...body } }).priceMc;

describe('savingsTips', () => {
  it('prices "no audio" on a voiced clip without its voice list, which Kling only takes with sound', () => {
    const voiced = {
      prompt: 'a fox',
      model_name: 'kling-v2-6',
      mode: 'pro',
      duration: '5',
      sound: 'on',
      voice_list: [{ voice_id: 'v1' }],
    };
    const [tip] = savingsTips(builtInCatalog, [
      { endpoint: 'text2video', params: voiced, redone: false, duplicate: false, count: 2, actualMc: mc(0) },
    ]);
    const silent = quote({ model_name: 'kling-v2-6', mode: 'pro', duration: '5' });
    expect(tip).toMatchObject({ kind: 'audio', jobs: 2, savedMc: 2 * (quote(voiced) - silent) });
    expect(tip!.savedMc).toBeGreaterThan(0);
  });

  it('suggests "5 s, then extend" only for models the catalog prices extending for', () => {
    const draft = (model: string) => ({
      endpoint: 'text2video',
      params: { prompt: 'a fox', model_name: model, mode: 'std', duration: '10' },
      redone: true,
      duplicate: false,
      count: 3,
      actualMc: mc(0),
    });
    const [extendable] = savingsTips(builtInCatalog, [draft('kling-v1-6')]);
    expect(extendable).toMatchObject({
      kind: 'short-drafts',
      jobs: 3,
      savedMc:
        3 *
        (quote({ model_name: 'kling-v1-6', mode: 'std', duration: '10' }) -
          quote({ model_name: 'kling-v1-6', mode: 'std', duration: '5' })),
    });
    expect(extendable!.text).toContain('extended once it is the keeper');

    const [notExtendable] = savingsTips(builtInCatalog, [draft('kling-v2-5-turbo')]);
    expect(notExtendable).toMatchObject({ kind: 'short-drafts-no-extend', jobs: 3 });
    expect(notExtendable!.savedMc).toBeGreaterThan(0);
    expect(notExtendable!.text).not.toContain('extended');
  });
});
