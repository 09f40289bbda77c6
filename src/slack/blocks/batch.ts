import type { BudgetRef } from '../../budget';
import type { QueueRefusal } from '../../generations';
import { formatCredits, formatUsd, subMc, sumMc } from '../../money/credits';
import type { Quote } from '../../pricing';
import { OFF_PEAK, type BatchCheck } from '../../requests';
import { BatchField } from '../commands/batch';
import { ActionId } from '../ids';
import { escape } from '../escape';
import { context, message, section, type Message } from './kit';
import { checkboxes, input, modal, select, textInput, type View } from './form';
import { credits, describeRequest, slackDate } from './format';

/** `/kling batch`: the modal, the pre-batch check's answer, and the note once the batch is queued. */

/** What the modal shows under the inputs as the person fills it. */
export type BatchTotal =
  /** No prompt yet. */
  | { kind: 'empty' }
  /** A line or a setting the catalog does not price, or a mistake in the form: never a guessed total. */
  | { kind: 'unpriced'; reason: string }
  | { kind: 'priced'; count: number; check: BatchCheck };

/** The total's block keeps its id across updates, like every input, so Slack keeps what the person entered. */
export const BATCH_TOTAL_BLOCK = 'batch_total';

export interface BatchModalOptions {
  /** The modal's external_id: the bot's key for the channel the batch belongs to (batch_forms). */
  formId: string;
  models: string[];
  defaultModel: string;
  durations: number[];
  maxPrompts: number;
  timezone: string;
  total: BatchTotal;
  creditPriceUsd: number;
  /** The project tag of `/kling batch --tag`, which every video of the batch carries. */
  tag?: string;
}

const hour = (h: number) => `${String(h).padStart(2, '0')}:00`;

export function batchModal(options: BatchModalOptions): View {
  return modal({
    callbackId: ActionId.batchSubmit,
    externalId: options.formId,
    title: 'Batch of videos',
    submit: 'Check and queue',
    blocks: [
      input(
        BatchField.prompts,
        `Prompts, one per line (up to ${options.maxPrompts})`,
        textInput({
          multiline: true,
          maxLength: 3000,
          placeholder: 'A fox running through snow\nThe same fox asleep by a fire',
          // The total follows the typing, not only Enter (which starts a new line here).
          dispatchOn: ['on_character_entered'],
        }),
        { hint: 'Each line becomes one video with the settings below.', dispatch: true },
      ),
      input(
        BatchField.model,
        'Model',
        select(
          options.models.map((m) => ({ text: m, value: m })),
          { initial: options.defaultModel },
        ),
        { dispatch: true },
      ),
      input(
        BatchField.mode,
        'Mode',
        select(
          ['std', 'pro', '4k'].map((m) => ({ text: m, value: m })),
          { placeholder: "The model's default" },
        ),
        {
          optional: true,
          hint: 'Left empty: std where the model has modes (the master models have none).',
          dispatch: true,
        },
      ),
      input(
        BatchField.duration,
        'Length',
        select(
          options.durations.map((d) => ({ text: `${d} s`, value: String(d) })),
          { initial: '5' },
        ),
        { dispatch: true },
      ),
      input(
        BatchField.options,
        'Options',
        checkboxes([
          { text: 'Add audio', value: 'audio' },
          { text: 'Cut into shots (3.x models)', value: 'multishot' },
          { text: `Off-peak: start after ${hour(OFF_PEAK.fromHour)} tonight (${options.timezone})`, value: 'off-peak' },
        ]),
        { optional: true, dispatch: true },
      ),
      { ...section(batchTotalText(options.total, options)), block_id: BATCH_TOTAL_BLOCK },
      context(
        // A tag is lowercase letters, digits and dashes only: nothing in it needs escaping.
        (options.tag ? `Every video is tagged \`${options.tag}\`. ` : '') +
          'Every prompt is priced and checked against your budgets before anything is held. All the videos are queued, or none.',
      ),
    ],
  });
}

/** Budget names for a plain-text field (Slack shows modal errors as plain text, so no mentions). */
function plainBudgetName(budget: Pick<BudgetRef, 'scope' | 'period'>): string {
  const period = { day: 'daily', week: 'weekly', month: 'monthly' }[budget.period];
  const names = {
    workspace: `the workspace ${period} budget`,
    channel: `this channel's ${period} budget`,
    user: `your ${period} budget`,
    tag: `the tag's ${period} budget`,
  };
  return names[budget.scope];
}

const videos = (n: number) => `${n} video${n === 1 ? '' : 's'}`;

/** The pre-batch check said no: the figures, and what would fit (shown under the prompts). */
export function batchTooExpensive(
  check: Extract<BatchCheck, { fits: false }>,
  count: number,
  options: { creditPriceUsd: number },
): string {
  const room = check.budget.remainingMc;
  const needs = `These ${videos(count)} need ${formatCredits(check.totalMc)} credits (${formatUsd(check.totalMc, options.creditPriceUsd)}), but ${plainBudgetName(check.budget.budget)} has ${formatCredits(room)} left.`;
  const ways = [
    check.fitCount > 0 ? `reduce to ${videos(check.fitCount)}` : undefined,
    check.cheaper
      ? `use ${check.cheaper.label} (${formatCredits(check.cheaper.totalMc)} credits for all ${count})`
      : undefined,
  ].filter(Boolean);
  if (!ways.length) return `${needs} Not even one video fits until the period ends; an admin can raise the budget.`;
  const advice = ways.join(' or ');
  return `${needs} ${advice[0]!.toUpperCase()}${advice.slice(1)}.`;
}

/** The live total: how many videos, what they cost and whether the budgets can take it; or why there is none. */
export function batchTotalText(total: BatchTotal, options: { creditPriceUsd: number }): string {
  switch (total.kind) {
    case 'empty':
      return 'The total shows here as you write prompts.';
    case 'unpriced':
      return `:warning: No total: ${escape(total.reason)}`;
    case 'priced': {
      const { check, count } = total;
      if (!check.fits) return `:no_entry: ${escape(batchTooExpensive(check, count, options))}`;
      const sum = `*${videos(count)}: ${credits(check.totalMc, options.creditPriceUsd)}*`;
      if (!check.budget) return `:white_check_mark: ${sum}. No hard budget applies.`;
      const left = subMc(check.budget.remainingMc, check.totalMc);
      return `:white_check_mark: ${sum}. Your budgets can take it; ${plainBudgetName(check.budget.budget)} keeps ${formatCredits(left)} credits.`;
    }
  }
}

/** The queue refused at the reservation (someone spent in between, or too many waiting jobs). */
export function batchRefused(refusal: QueueRefusal, count: number): string {
  if ('kind' in refusal)
    return `You can have ${refusal.limit} videos waiting in the queue; these ${videos(count)} would go over. Wait for some to start, or send fewer.`;
  return `Not queued: this batch needs ${formatCredits(refusal.neededMc)} credits and ${plainBudgetName(refusal.budget)} has ${formatCredits(refusal.remainingMc)} left. Nothing was held.`;
}

/** To the person, once the whole batch is held and queued. */
export function batchQueued(
  quotes: Quote[],
  options: { channelId: string; notBefore?: Date; creditPriceUsd: number },
): Message {
  const total = sumMc(quotes.map((q) => q.priceMc));
  const when = options.notBefore ? ` They wait for the off-peak hours and start ${slackDate(options.notBefore)}.` : '';
  return message(`Queued ${videos(quotes.length)}`, [
    section(
      `:white_check_mark: Queued ${videos(quotes.length)}, *${describeRequest(quotes[0]!.request.body, quotes[0]!.request.endpoint)}*, holding ${credits(total, options.creditPriceUsd)}. The job cards are in <#${options.channelId}>.${when}`,
    ),
  ]);
}
