import { describe, expect, it } from 'vitest';
import { builtInCatalog } from '../../src/pricing';
import { savingsTips } from '../../src/digest/savings';

const quote = (body: Record<string, unknown>) => builtInCatalog.quote({ endpoint: 'text2video', body: { prompt: 'a fox', ...body } }).priceMc;

describe('savingsTips', () => {
  it('prices "no audio" on a voiced clip without its voice list, which Kling only takes with sound', () => {
    const voiced = { prompt: 'a fox', model_name: 'kling-v2-6', mode: 'pro', duration: '5', sound: 'on', voice_list: [{ voice_id: 'v1' }] };
    const [tip] = savingsTips(builtInCatalog, [{ endpoint: 'text2video', params: voiced, redone: false, duplicate: false, count: 2, actualMc: 0 }]);
    const silent = quote({ model_name: 'kling-v2-6', mode: 'pro', duration: '5' });
    expect(tip).toMatchObject({ kind: 'audio', jobs: 2, savedMc: 2 * (quote(voiced) - silent) });
    expect(tip!.savedMc).toBeGreaterThan(0);
  });
});
