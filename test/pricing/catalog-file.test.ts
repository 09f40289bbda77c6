import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtInCatalog, CatalogFileError, catalogFileSchema, loadCatalog } from '../../src/pricing';

const dir = mkdtempSync(join(tmpdir(), 'pricing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const builtIn = () => JSON.parse(readFileSync(new URL('../../src/pricing/catalog.json', import.meta.url), 'utf8'));
let files = 0;
function write(content: unknown): string {
  const file = join(dir, `pricing-${++files}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

function loadError(file: string): string {
  try {
    loadCatalog(file);
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogFileError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(file);
    return message;
  }
  throw new Error('expected a CatalogFileError');
}

/** [what is wrong, the file's text or a change to the built-in catalog (null: no file), what the one-line error says] */
// biome-ignore lint/suspicious/noExplicitAny: each case breaks the parsed catalog file in its own way.
const MALFORMED: [string, string | null | ((data: any) => void), string][] = [
  ['a missing file', null, 'cannot be read (no such file)'],
  ['text that is not JSON', '{ "version": ', 'is not valid JSON ('],
  [
    'a price that is not a decimal',
    (d) => (d.video[6].prices[0].perSecond = 'cheap'),
    'video[6].prices[0].perSecond must be an amount of credits with at most 3 decimals, such as 0.3 (got "cheap")',
  ],
  [
    'a float with more than 3 decimals',
    (d) => (d.video[6].prices[1].perSecond = 0.1 + 0.2),
    'video[6].prices[1].perSecond must be an amount of credits with at most 3 decimals, such as 0.3 (got 0.30000000000000004)',
  ],
  [
    'a misspelt key',
    (d) => (d.video[7].prices[0].perSecnd = '0.3'),
    'video[7].prices[0].perSecnd is not a field of the pricing format (check its spelling)',
  ],
  [
    'a row with both perSecond and perClip',
    (d) => (d.video[7].prices[0].perClip = { 5: '1.5' }),
    'video[7].prices[0] needs exactly one of perSecond or perClip',
  ],
  ['an unknown mode', (d) => (d.video[0].modes = ['std', 'ultra']), 'video[0].modes[1] must be "std", "pro" or "4k"'],
  [
    'a fractional duration',
    (d) => (d.video[8].durations[0] = 3.5),
    'video[8].durations[0] must be a whole number of seconds',
  ],
  ['a missing version', (d) => delete d.version, 'version is missing'],
  ['a missing default', (d) => delete d.defaults.image2video, 'defaults.image2video is missing'],
  [
    'a value of the wrong type',
    (d) => (d.video[7].audio.voice = 'yes'),
    'video[7].audio.voice must be a boolean (got string "yes")',
  ],
  ['a list where an object belongs', '[]', 'the file must be an object (got a list)'],
  ['a bad effective date', (d) => (d.effectiveDate = 'September'), 'effectiveDate must be a date such as 2026-09-15'],
  [
    'a price row in a mode the model lacks',
    (d) => (d.video[6].prices[1].mode = '4k'),
    'video[6].prices[1].mode must be one of std, pro',
  ],
  [
    'a mode on a master model',
    (d) => (d.video[3].prices[0].mode = 'pro'),
    'video[3].prices[0].mode must be left out: kling-v2-master takes no mode',
  ],
  [
    'audio on a model without audio',
    (d) => (d.video[6].prices[1].sound = true),
    'video[6].prices[1].sound cannot be true: kling-v2-5-turbo has no "audio"',
  ],
  [
    'audio in a mode outside audio.modes',
    (d) => (d.video[7].prices[0].sound = true),
    'video[7].prices[0].sound cannot be true in std mode (not in audio.modes)',
  ],
  [
    'a per-clip duration the model lacks',
    (d) => (d.video[0].prices[0].perClip['7'] = '1.4'),
    "video[0].prices[0].perClip.7 is not one of the model's durations (5, 10)",
  ],
  [
    'the same configuration priced twice',
    (d) => d.video[0].prices.push({ mode: 'std', perClip: { 5: '9' } }),
    'video[0].prices[2] prices the same configuration as prices[0]',
  ],
  ['a model listed twice', (d) => d.video.push({ ...d.video[0] }), 'video[12].model repeats model "kling-v1"'],
  [
    'a default model that is not in the file',
    (d) => (d.defaults.text2video = 'kling-v1-5'),
    'defaults.text2video "kling-v1-5" is not a text2video model in "video"',
  ],
  [
    'an extension of an unknown model',
    (d) => (d.extend[0].source = 'kling-v0'),
    'extend[0].source "kling-v0" is not a model in "video"',
  ],
  [
    'fractional image units',
    (d) => (d.images[5].prices[0].imageUnits = 7.5),
    'images[5].prices[0].imageUnits must be a whole number of image units',
  ],
  [
    'an image price at a resolution the model lacks',
    (d) => (d.images[0].prices[0].resolution = '2k'),
    "images[0].prices[0].resolution is not one of the model's resolutions (1k)",
  ],
  ['a negative try-on price', (d) => (d.tryOn[0].credits = '-0.5'), 'tryOn[0].credits must be an amount of credits'],
];

describe('PRICING_FILE', () => {
  it('without a file, the built-in catalog is used', () => {
    expect(loadCatalog()).toBe(builtInCatalog);
    expect(loadCatalog('')).toBe(builtInCatalog);
    expect([builtInCatalog.version, builtInCatalog.effectiveDate]).toEqual(['2026-12', '2026-09-15']);
  });

  it('the built-in catalog.json passes the exported schema', () => {
    expect(catalogFileSchema.safeParse(builtIn()).success).toBe(true);
  });

  it('a valid file replaces the built-in catalog entirely (prices, models, version)', () => {
    const data = builtIn();
    data.version = 'acme-2026-11';
    data.effectiveDate = '2026-11-01';
    const turbo = data.video.find((m: { model: string }) => m.model === 'kling-v2-5-turbo');
    turbo.prices = [
      { mode: 'std', perSecond: 0.25 },
      { mode: 'pro', perSecond: '0.45' },
    ];
    data.video = data.video.filter((m: { model: string }) => m.model !== 'kling-v3');
    const catalog = loadCatalog(write(data));
    expect([catalog.version, catalog.effectiveDate]).toEqual(['acme-2026-11', '2026-11-01']);
    const quote = catalog.quote({
      endpoint: 'text2video',
      body: { prompt: 'x', model_name: 'kling-v2-5-turbo', mode: 'pro', duration: '10' },
    });
    expect(quote.priceMc).toBe(4500);
    expect(quote.catalogVersion).toBe('acme-2026-11');
    expect(() => catalog.quote({ endpoint: 'text2video', body: { prompt: 'x', model_name: 'kling-v3' } })).toThrow(
      '"kling-v3" is not a model the price list knows',
    );
    // the built-in catalog is untouched
    expect(
      builtInCatalog.quote({
        endpoint: 'text2video',
        body: { prompt: 'x', model_name: 'kling-v2-5-turbo', mode: 'pro', duration: '10' },
      }).priceMc,
    ).toBe(5000);
  });

  it('a minimal file with one model and nothing else', () => {
    const catalog = loadCatalog(
      write({
        version: 'tiny',
        effectiveDate: '2026-12-01',
        defaults: {
          text2video: 'kling-v2-6',
          image2video: 'kling-v2-6',
          'images/generations': 'kling-v3',
          'kolors-virtual-try-on': 'kolors-virtual-try-on-v1',
        },
        video: [
          {
            model: 'kling-v2-6',
            endpoints: ['text2video', 'image2video'],
            modes: ['std'],
            durations: [5],
            prices: [{ mode: 'std', perClip: { 5: 1.5 } }],
          },
        ],
        imageUnitCredits: '0.025',
        images: [
          { model: 'kling-v3', resolutions: ['1k'], prices: [{ input: 'text', resolution: '1k', imageUnits: 8 }] },
        ],
        tryOn: [{ model: 'kolors-virtual-try-on-v1', credits: 0.5 }],
      }),
    );
    expect(catalog.quote({ endpoint: 'text2video', body: { prompt: 'x' } }).priceMc).toBe(1500);
    expect(() =>
      catalog.quote({ endpoint: 'video-extend', body: { video_id: 'v' }, source: { model_name: 'kling-v2-6' } }),
    ).toThrow('The price list (tiny) has no price for extend a kling-v2-6 std video · +4–5 s');
  });

  it.each(MALFORMED)('refuses %s, naming the file and the field', (_, change, expected) => {
    let file: string;
    if (change === null) file = join(dir, 'missing.json');
    else if (typeof change === 'string') file = write(change);
    else {
      const data = builtIn();
      change(data);
      file = write(data);
    }
    const message = loadError(file);
    expect(message.startsWith(`Pricing file ${file}: `)).toBe(true);
    expect(message).toContain(expected);
  });
});
