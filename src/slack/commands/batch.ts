import { periodBounds, type Usage } from '../../budget';
import type { Millicredits } from '../../money/credits';
import { PricingError, promptLength, type PriceCatalog, type Quote } from '../../pricing';
import { PROMPT_LIMIT, type GenerateFlags } from './parse';
import { toPricedRequest } from './request';

/**
 * `/kling batch`: reading the modal, pricing every prompt, and the pre-batch check (the whole batch
 * against what is left in every hard budget). Pure functions; the listener holds and queues.
 */

/** The modal's inputs; each block_id equals its element's action_id. */
export const BatchField = { prompts: 'batch_prompts', model: 'batch_model', mode: 'batch_mode', duration: 'batch_duration', options: 'batch_options' } as const;
export type BatchFieldId = (typeof BatchField)[keyof typeof BatchField];

/** Off-peak: from 22:00 to 06:00 in the workspace's timezone. */
export const OFF_PEAK = { fromHour: 22, untilHour: 6 } as const;

export interface BatchForm {
  prompts: string[];
  flags: GenerateFlags;
  offPeak: boolean;
}

export type FormErrors = Partial<Record<BatchFieldId, string>>;

type StateValues = Record<string, Record<string, { value?: string | null; selected_option?: { value: string } | null; selected_options?: { value: string }[] }>>;

/** The submitted modal as prompts and shared flags, or the mistakes by input block. */
export function readBatchForm(values: StateValues, maxPrompts: number): { form: BatchForm } | { errors: FormErrors } {
  const field = (id: BatchFieldId) => values[id]?.[id];
  const prompts = (field(BatchField.prompts)?.value ?? '').split('\n').map((line) => line.trim()).filter(Boolean);
  const tooLong = prompts.findIndex((p) => promptLength(p) > PROMPT_LIMIT);
  if (prompts.length === 0) return { errors: { [BatchField.prompts]: 'Write at least one prompt, one per line.' } };
  if (prompts.length > maxPrompts) return { errors: { [BatchField.prompts]: `A batch takes up to ${maxPrompts} prompts; this has ${prompts.length}.` } };
  if (tooLong >= 0) return { errors: { [BatchField.prompts]: `Prompt ${tooLong + 1} is over Kling's ${PROMPT_LIMIT} characters.` } };

  const mode = field(BatchField.mode)?.selected_option?.value;
  const duration = Number(field(BatchField.duration)?.selected_option?.value ?? NaN);
  const options = new Set((field(BatchField.options)?.selected_options ?? []).map((o) => o.value));
  const flags: GenerateFlags = {
    model: field(BatchField.model)?.selected_option?.value,
    mode: mode === 'std' || mode === 'pro' || mode === '4k' ? mode : undefined,
    duration: Number.isInteger(duration) ? duration : undefined,
    audio: options.has('audio'),
    multishot: options.has('multishot'),
    draft: false,
  };
  return { form: { prompts, flags, offPeak: options.has('off-peak') } };
}

/** The input a pricing mistake belongs to, so Slack shows it under that field. */
function fieldOf(error: PricingError): BatchFieldId {
  switch (error.field) {
    case 'model_name':
      return BatchField.model;
    case 'mode':
      return BatchField.mode;
    case 'duration':
      return BatchField.duration;
    case 'sound':
    case 'multi_shot':
      return BatchField.options;
    default:
      return BatchField.prompts;
  }
}

/** One quote per prompt, in order; a configuration the catalog refuses is a form error, never a guess. */
export function quoteBatch(catalog: PriceCatalog, form: BatchForm, defaultModel: string): { quotes: Quote[] } | { errors: FormErrors } {
  try {
    return { quotes: form.prompts.map((prompt) => catalog.quote(toPricedRequest(prompt, form.flags, defaultModel))) };
  } catch (error) {
    if (!(error instanceof PricingError)) throw error;
    return { errors: { [fieldOf(error)]: error.message } };
  }
}

export type BatchCheck =
  | { fits: true; totalMc: Millicredits }
  | {
      fits: false;
      totalMc: Millicredits;
      /** The hard budget with the least room. */
      budget: Usage;
      /** How many of the prompts, in order, fit that room. */
      fitCount: number;
      /** The closest cheaper configuration in which the whole batch fits. */
      cheaper?: { label: string; eachMc: Millicredits; totalMc: Millicredits };
    };

/**
 * The pre-batch check: every prompt of a batch goes to the same person and channel, so every budget
 * that applies takes the whole total. Advisory only: the reservation itself is what guarantees it.
 */
export function checkBatch(quotes: Quote[], usages: Usage[]): BatchCheck {
  const totalMc = quotes.reduce((sum, q) => sum + q.credits, 0);
  const tightest = usages.filter((u) => u.budget.hard).sort((a, b) => a.remainingMc - b.remainingMc)[0];
  if (!tightest || totalMc <= tightest.remainingMc) return { fits: true, totalMc };

  let fitCount = 0;
  for (let used = 0; fitCount < quotes.length && used + quotes[fitCount]!.credits <= tightest.remainingMc; fitCount++) used += quotes[fitCount]!.credits;
  // The settings are shared, so every prompt has the same alternatives; cheapest first, so the last that fits changes least.
  const fitting = (quotes[0]?.alternatives ?? []).filter((a) => a.credits * quotes.length <= tightest.remainingMc).at(-1);
  return {
    fits: false,
    totalMc,
    budget: tightest,
    fitCount,
    ...(fitting ? { cheaper: { label: fitting.label, eachMc: fitting.credits, totalMc: fitting.credits * quotes.length } } : {}),
  };
}

const hourFormats = new Map<string, Intl.DateTimeFormat>();

function localHour(at: Date, timezone: string): number {
  let format = hourFormats.get(timezone);
  if (!format) hourFormats.set(timezone, (format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hour: 'numeric', hourCycle: 'h23' })));
  return Number(format.format(at));
}

/** When an off-peak batch may start: now if it is already off-peak, else today at 22:00 in the workspace's timezone. */
export function offPeakStart(now: Date, timezone: string): Date | undefined {
  const hour = localHour(now, timezone);
  if (hour >= OFF_PEAK.fromHour || hour < OFF_PEAK.untilHour) return undefined;
  const midnight = periodBounds('day', now, timezone).start;
  const start = new Date(midnight.getTime() + OFF_PEAK.fromHour * 3_600_000);
  // A DST change earlier in the day moves the wall clock by an hour: correct by what it shows.
  return new Date(start.getTime() - (localHour(start, timezone) - OFF_PEAK.fromHour) * 3_600_000);
}
