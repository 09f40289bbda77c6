import { isLocalDate, type LocalDate } from '../../budget/periods';
import type { Millicredits } from '../../money/credits';
import { readCredits } from './amounts';

/** The admins' Raise… modal: its inputs, and reading a submission (pure; the use case checks the figures). */

/** Each block_id equals its element's action_id. */
export const RaiseField = { amount: 'raise_amount', until: 'raise_until' } as const;
type RaiseFieldId = (typeof RaiseField)[keyof typeof RaiseField];

type StateValues = Record<string, Record<string, { value?: string | null; selected_date?: string | null }>>;

/** Credits and a YYYY-MM-DD date, or the mistakes by input block. */
export function readRaiseForm(
  values: StateValues,
): { amountMc: Millicredits; until: LocalDate } | { errors: Partial<Record<RaiseFieldId, string>> } {
  const errors: Partial<Record<RaiseFieldId, string>> = {};
  const amountMc = readCredits(values[RaiseField.amount]?.[RaiseField.amount]?.value ?? '');
  if (amountMc === undefined || amountMc === 0) errors[RaiseField.amount] = 'Give a number of credits above 0.';
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(values[RaiseField.until]?.[RaiseField.until]?.selected_date ?? '');
  const until = date && { year: Number(date[1]), month: Number(date[2]), day: Number(date[3]) };
  if (!until || !isLocalDate(until)) errors[RaiseField.until] = 'Pick the last day of the raise.';
  if (amountMc === undefined || amountMc === 0 || !until || errors[RaiseField.until]) return { errors };
  return { amountMc, until };
}
