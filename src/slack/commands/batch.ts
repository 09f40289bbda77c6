import { PricingError, promptLength, type PriceCatalog, type Quote } from '../../pricing';
import { PROMPT_LIMIT, type GenerateFlags } from './parse';
import { toPricedRequest } from './request';

/**
 * `/kling batch`: reading the modal, pricing every prompt, and the pre-batch check (the whole batch
 * against what is left in every hard budget). Pure functions; the listener holds and queues.
 */

/** The modal's inputs; each block_id equals its element's action_id. */
export const BatchField = {
  prompts: 'batch_prompts',
  model: 'batch_model',
  mode: 'batch_mode',
  duration: 'batch_duration',
  options: 'batch_options',
} as const;
type BatchFieldId = (typeof BatchField)[keyof typeof BatchField];

export interface BatchForm {
  prompts: string[];
  flags: GenerateFlags;
  offPeak: boolean;
}

export type FormErrors = Partial<Record<BatchFieldId, string>>;

type StateValues = Record<
  string,
  Record<
    string,
    { value?: string | null; selected_option?: { value: string } | null; selected_options?: { value: string }[] }
  >
>;

/** The submitted modal as prompts and shared flags, or the mistakes by input block. */
export function readBatchForm(values: StateValues, maxPrompts: number): { form: BatchForm } | { errors: FormErrors } {
  const field = (id: BatchFieldId) => values[id]?.[id];
  const prompts = (field(BatchField.prompts)?.value ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const tooLong = prompts.findIndex((p) => promptLength(p) > PROMPT_LIMIT);
  if (prompts.length === 0) return { errors: { [BatchField.prompts]: 'Write at least one prompt, one per line.' } };
  if (prompts.length > maxPrompts)
    return {
      errors: { [BatchField.prompts]: `A batch takes up to ${maxPrompts} prompts; this has ${prompts.length}.` },
    };
  if (tooLong >= 0)
    return { errors: { [BatchField.prompts]: `Prompt ${tooLong + 1} is over Kling's ${PROMPT_LIMIT} characters.` } };

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
export function quoteBatch(
  catalog: PriceCatalog,
  form: BatchForm,
  defaultModel: string,
): { quotes: Quote[] } | { errors: FormErrors } {
  const quotes: Quote[] = [];
  for (const [i, prompt] of form.prompts.entries()) {
    try {
      quotes.push(catalog.quote(toPricedRequest(prompt, form.flags, defaultModel)));
    } catch (error) {
      if (!(error instanceof PricingError)) throw error;
      const field = fieldOf(error);
      // A mistake in one line names it; one in the shared settings is the same for every line.
      const line = field === BatchField.prompts && form.prompts.length > 1 ? `Line ${i + 1}: ` : '';
      return { errors: { [field]: `${line}${error.message}` } };
    }
  }
  return { quotes };
}
