import type { BudgetPeriodKind, BudgetScope, BudgetTarget } from '../../budget';
import type { Millicredits } from '../../money/credits';
import { readCredits, readThresholds } from './amounts';

/** The App Home's budget modal: its inputs, and reading a submission into a budget (pure). */

/** Each block_id equals its element's action_id. */
export const BudgetField = {
  scope: 'budget_scope',
  channel: 'budget_channel',
  person: 'budget_person',
  period: 'budget_period',
  limit: 'budget_limit',
  thresholds: 'budget_thresholds',
  enforcement: 'budget_enforcement',
} as const;
export type BudgetFieldId = (typeof BudgetField)[keyof typeof BudgetField];

/** What the modal edits; a new budget has no `id`. Travels in private_metadata. */
export type EditedBudget = BudgetTarget & { id?: number };

export interface BudgetForm extends BudgetTarget {
  limitMc: Millicredits;
  thresholds: number[];
  hard: boolean;
}

type StateValues = Record<
  string,
  Record<
    string,
    {
      value?: string | null;
      selected_option?: { value: string } | null;
      selected_user?: string | null;
      selected_conversation?: string | null;
    }
  >
>;

const SCOPES: BudgetScope[] = ['workspace', 'channel', 'user'];
const PERIODS: BudgetPeriodKind[] = ['day', 'week', 'month'];

/**
 * The submitted modal as a budget for `ledger.setBudget`, or the mistakes by input block. Editing an
 * existing budget fixes its scope and period (`fixed`); a new one reads them from the form.
 */
export function readBudgetForm(
  values: StateValues,
  teamId: string,
  fixed?: EditedBudget,
): { budget: BudgetForm } | { errors: Partial<Record<BudgetFieldId, string>> } {
  const field = (id: BudgetFieldId) => values[id]?.[id];
  const errors: Partial<Record<BudgetFieldId, string>> = {};

  let target: Pick<BudgetForm, 'scope' | 'scopeId' | 'period'> | undefined = fixed;
  if (!target) {
    const scope = SCOPES.find((s) => s === field(BudgetField.scope)?.selected_option?.value);
    const period = PERIODS.find((p) => p === field(BudgetField.period)?.selected_option?.value);
    const channel = field(BudgetField.channel)?.selected_conversation;
    const person = field(BudgetField.person)?.selected_user;
    if (!scope) errors[BudgetField.scope] = 'Choose whose budget this is.';
    if (!period) errors[BudgetField.period] = 'Choose a period.';
    if (scope === 'channel' && !channel) errors[BudgetField.channel] = 'Pick the channel this budget is for.';
    if (scope === 'user' && !person) errors[BudgetField.person] = 'Pick the person this budget is for.';
    const scopeId = scope === 'workspace' ? teamId : scope === 'channel' ? channel : person;
    if (scope && period && scopeId) target = { scope, scopeId, period };
  }

  const limitMc = readCredits(field(BudgetField.limit)?.value ?? '');
  if (limitMc === undefined) errors[BudgetField.limit] = 'A number of credits, such as 200 or 12.5.';
  const thresholdText = field(BudgetField.thresholds)?.value?.trim();
  const thresholds = thresholdText ? readThresholds(thresholdText) : [80, 100];
  if (!thresholds) errors[BudgetField.thresholds] = 'Percents of the limit from 1 to 100, such as 80, 100.';
  const hard = field(BudgetField.enforcement)?.selected_option?.value !== 'soft';

  if (Object.keys(errors).length || !target || limitMc === undefined || !thresholds) return { errors };
  return { budget: { ...target, limitMc, thresholds, hard } };
}
