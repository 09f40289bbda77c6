import { z } from 'zod';
import { parseCredits, type Millicredits } from '../money/credits';

/**
 * The price catalog file (the built-in `catalog.json`, or the operator's `PRICING_FILE`), in credits
 * (1 credit = 1 Kling video unit). Amounts are decimals with at most 3 places, as strings ("0.3") or
 * numbers (0.3). Every object may carry a `note` saying where a figure comes from.
 *
 * ```jsonc
 * {
 *   "version": "2026-10", "effectiveDate": "2026-09-15",
 *   "defaults": { "text2video": "kling-v1", "image2video": "kling-v1", "images/generations": "kling-v3", "kolors-virtual-try-on": "kolors-virtual-try-on-v1" },
 *   "video": [{                                  // text2video / image2video models
 *     "model": "kling-v2-6", "endpoints": ["text2video", "image2video"],
 *     "modes": ["std", "pro"],                   // [] = the model takes no mode (the masters)
 *     "durations": [5, 10],                      // seconds Kling accepts
 *     "api": "legacy",                           // or "omni-video" (/v1/videos/omni-video), "new-standard" (model in the path)
 *     "audio": { "modes": ["pro"], "voice": true },  // omit when the model cannot make sound; "always": true = no silent clip
 *     "multiShot": false,                        // Kling can cut the prompt into shots (--multishot)
 *     "turbo": false,                            // offered as the cheaper model in alternatives
 *     "prices": [                                // one row per priced configuration; no row = unpriced
 *       { "mode": "pro", "sound": true, "voice": true, "perSecond": "1.2" },
 *       { "mode": "pro", "videoInput": true, "perSecond": "1.2" },   // omni-video with a reference video
 *       { "mode": "std", "perClip": { "5": "1.5", "10": "3" } }
 *     ]
 *   }],
 *   "extend": [{ "source": "kling-v1", "mode": "std", "credits": "2" }],   // per extension, inherits the source's model/mode
 *   "imageUnitCredits": "0.025",                 // 1 image unit ($0.0035) in credits
 *   "images": [{ "model": "kling-v3", "resolutions": ["1k", "2k"], "inputs": ["text", "image"],
 *                "prices": [{ "input": "text", "resolution": "1k", "imageUnits": 8 }] }],   // per image, × n
 *   "tryOn": [{ "model": "kolors-virtual-try-on-v1", "credits": "0.5" }]                    // per result image
 * }
 * ```
 */
const note = z.string().optional();

const credits = z.union([z.string(), z.number()]).transform((value, ctx): Millicredits => {
  const text = String(value).trim();
  if (!/^\d+(\.\d{1,3})?$/.test(text)) {
    ctx.addIssue({
      code: 'custom',
      message: `must be an amount of credits with at most 3 decimals, such as 0.3 (got ${JSON.stringify(value)})`,
    });
    return z.NEVER;
  }
  return parseCredits(text);
});

const name = z.string().trim().min(1, 'must be a non-empty name');
const mode = z.enum(['std', 'pro', '4k'], { error: 'must be "std", "pro" or "4k"' });
const seconds = z
  .int('must be a whole number of seconds')
  .min(1, 'must be at least 1 second')
  .max(600, 'must be at most 600 seconds');

const videoPrice = z
  .strictObject({
    mode: mode.optional(),
    sound: z.boolean().default(false),
    voice: z.boolean().default(false),
    videoInput: z.boolean().default(false),
    perSecond: credits.optional(),
    perClip: z.record(z.string().regex(/^\d+$/, 'must be a duration in whole seconds such as "5"'), credits).optional(),
    note,
  })
  .refine(
    (row) => (row.perSecond === undefined) !== (row.perClip === undefined),
    'needs exactly one of perSecond or perClip',
  );

const videoModel = z.strictObject({
  model: name,
  endpoints: z
    .array(z.enum(['text2video', 'image2video'], { error: 'must be "text2video" or "image2video"' }))
    .min(1, 'must list at least one endpoint'),
  /** How Kling is called: `/v1/videos/<endpoint>`, `/v1/videos/omni-video`, or the new standard (model in the path). */
  api: z
    .enum(['legacy', 'omni-video', 'new-standard'], { error: 'must be "legacy", "omni-video" or "new-standard"' })
    .default('legacy'),
  modes: z.array(mode),
  durations: z.array(seconds).min(1, 'must list at least one duration'),
  audio: z
    .strictObject({
      modes: z.array(mode).min(1, 'must list the modes that can make sound'),
      voice: z.boolean().default(false),
      /** The model always makes sound (3.0 Turbo): it has no silent price. */
      always: z.boolean().default(false),
    })
    .optional(),
  /** Kling can cut the prompt into shots (multi_shot). */
  multiShot: z.boolean().default(false),
  turbo: z.boolean().default(false),
  prices: z.array(videoPrice).min(1, 'must price at least one configuration'),
  note,
});

const resolution = z.enum(['1k', '2k', '4k'], { error: 'must be "1k", "2k" or "4k"' });
const imageInput = z.enum(['text', 'image'], { error: 'must be "text" (text to image) or "image" (image to image)' });

const imageModel = z.strictObject({
  model: name,
  resolutions: z.array(resolution).min(1, 'must list at least one resolution'),
  inputs: z.array(imageInput).min(1).default(['text', 'image']),
  prices: z
    .array(
      z.strictObject({
        input: imageInput,
        resolution,
        imageUnits: z.int('must be a whole number of image units').min(0),
        note,
      }),
    )
    .min(1, 'must price at least one configuration'),
  note,
});

export const catalogFileSchema = z
  .strictObject({
    version: name,
    effectiveDate: z.iso.date('must be a date such as 2026-09-15'),
    note,
    defaults: z.strictObject({
      text2video: name,
      image2video: name,
      'images/generations': name,
      'kolors-virtual-try-on': name,
    }),
    video: z.array(videoModel).min(1, 'must list at least one video model'),
    extend: z.array(z.strictObject({ source: name, mode: mode.optional(), credits, note })).default([]),
    imageUnitCredits: credits,
    images: z.array(imageModel).default([]),
    tryOn: z.array(z.strictObject({ model: name, credits, note })).default([]),
  })
  .superRefine((file, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const duplicates = (list: { model: string }[], key: string) =>
      list.forEach((entry, i) => {
        if (list.findIndex((other) => other.model === entry.model) !== i)
          issue([key, i, 'model'], `repeats model "${entry.model}"`);
      });
    duplicates(file.video, 'video');
    duplicates(file.images, 'images');
    duplicates(file.tryOn, 'tryOn');

    file.video.forEach((model, i) => {
      model.durations.forEach((s, j) => {
        if (model.durations.indexOf(s) !== j) issue(['video', i, 'durations', j], `repeats ${s} s`);
      });
      model.audio?.modes.forEach((m, j) => {
        if (!model.modes.includes(m))
          issue(['video', i, 'audio', 'modes', j], `"${m}" is not one of the model's modes`);
      });
      model.prices.forEach((row, j) => {
        const at = ['video', i, 'prices', j];
        if (model.modes.length === 0 && row.mode)
          issue([...at, 'mode'], `must be left out: ${model.model} takes no mode`);
        if (model.modes.length > 0 && (!row.mode || !model.modes.includes(row.mode)))
          issue([...at, 'mode'], `must be one of ${model.modes.join(', ')}`);
        if (row.sound && !model.audio) issue([...at, 'sound'], `cannot be true: ${model.model} has no "audio"`);
        if (row.sound && model.audio && row.mode && !model.audio.modes.includes(row.mode))
          issue([...at, 'sound'], `cannot be true in ${row.mode} mode (not in audio.modes)`);
        if (row.voice && !row.sound)
          issue([...at, 'voice'], 'needs "sound": true (voice control speaks in the soundtrack)');
        if (row.voice && model.audio && !model.audio.voice)
          issue([...at, 'voice'], 'cannot be true: audio.voice is false');
        if (row.videoInput && model.api !== 'omni-video') {
          issue([...at, 'videoInput'], 'cannot be true: only omni-video models take a reference video');
        }
        for (const key of Object.keys(row.perClip ?? {})) {
          if (!model.durations.includes(Number(key)))
            issue([...at, 'perClip', key], `is not one of the model's durations (${model.durations.join(', ')})`);
        }
        const same = model.prices.findIndex(
          (other) =>
            other.mode === row.mode &&
            other.sound === row.sound &&
            other.voice === row.voice &&
            other.videoInput === row.videoInput,
        );
        if (same !== j) issue(at, `prices the same configuration as prices[${same}]`);
      });
    });

    file.extend.forEach((row, i) => {
      const source = file.video.find((m) => m.model === row.source);
      if (!source) issue(['extend', i, 'source'], `"${row.source}" is not a model in "video"`);
      else if (source.modes.length === 0 ? row.mode !== undefined : !row.mode || !source.modes.includes(row.mode)) {
        issue(
          ['extend', i, 'mode'],
          source.modes.length === 0
            ? `must be left out: ${row.source} takes no mode`
            : `must be one of ${source.modes.join(', ')}`,
        );
      }
    });

    file.images.forEach((model, i) =>
      model.prices.forEach((row, j) => {
        if (!model.resolutions.includes(row.resolution))
          issue(
            ['images', i, 'prices', j, 'resolution'],
            `is not one of the model's resolutions (${model.resolutions.join(', ')})`,
          );
        if (!model.inputs.includes(row.input))
          issue(['images', i, 'prices', j, 'input'], `is not one of the model's inputs (${model.inputs.join(', ')})`);
      }),
    );

    for (const endpoint of ['text2video', 'image2video'] as const) {
      const model = file.defaults[endpoint];
      if (!file.video.some((m) => m.model === model && m.endpoints.includes(endpoint)))
        issue(['defaults', endpoint], `"${model}" is not a ${endpoint} model in "video"`);
      // The model names the request's path in the new standard, and the legacy defaults apply only to legacy bodies.
      if (file.video.some((m) => m.model === model && m.api !== 'legacy')) {
        issue(['defaults', endpoint], `"${model}" is not a legacy-API model`);
      }
    }
    if (!file.images.some((m) => m.model === file.defaults['images/generations']))
      issue(['defaults', 'images/generations'], `"${file.defaults['images/generations']}" is not a model in "images"`);
    if (!file.tryOn.some((m) => m.model === file.defaults['kolors-virtual-try-on']))
      issue(
        ['defaults', 'kolors-virtual-try-on'],
        `"${file.defaults['kolors-virtual-try-on']}" is not a model in "tryOn"`,
      );
  });

/** The parsed catalog: amounts in millicredits, defaults filled in. */
export type CatalogData = z.output<typeof catalogFileSchema>;
export type VideoModelData = CatalogData['video'][number];

/** A PRICING_FILE (or the built-in catalog) that cannot be used; the message is one line naming the file and the field. */
export class CatalogFileError extends Error {
  override name = 'CatalogFileError';
}

/** "video[3].prices[1].perSecond" */
function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>(
    (value, key) =>
      typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined,
    json,
  );
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/** One line: the path of the first problem and what is wrong there, in words rather than zod's defaults. */
function explain(issue: z.core.$ZodIssue, json: unknown): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys')
    return `${where ? `${where}.` : ''}${issue.keys[0]} is not a field of the pricing format (check its spelling)`;
  const subject = where || 'the file';
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    const value = valueAt(json, issue.path);
    if (value === undefined) return `${subject} is missing`;
    const expected =
      issue.expected === 'array' ? 'a list' : issue.expected === 'object' ? 'an object' : `a ${issue.expected}`;
    return `${subject} must be ${expected} (got ${kindOf(value)})`;
  }
  return `${subject} ${issue.message.replace(/\s+/g, ' ')}`;
}

export function parseCatalogFile(json: unknown, file: string): CatalogData {
  const parsed = catalogFileSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  throw new CatalogFileError(`Pricing file ${file}: ${explain(parsed.error.issues[0]!, json)}`);
}
