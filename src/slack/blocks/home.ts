import type { AccountStatus } from '../../account';
import type { BudgetRef } from '../../budget';
import type { Generation } from '../../generations';
import { formatCredits } from '../../money/credits';
import { BudgetField, type EditedBudget } from '../commands/budget-form';
import { ActionId } from '../ids';
import { actions, button, context, divider, section, type Block } from './kit';
import { accountBlocks } from './account';
import { bar, budgetName, forecastLine, raiseLines, type ForecastUsage } from './format';
import {
  channelSelect,
  header,
  homeView,
  input,
  modal,
  radios,
  select,
  textInput,
  userSelect,
  type View,
} from './form';
import * as replies from './replies';

/** The App Home tab (one per person) and the admins' budget modal opened from it. */

/** Budgets listed on the home; the rest are counted, so the tab stays within Slack's 100 blocks. */
export const HOME_BUDGETS_SHOWN = 40;

export interface HomeInput {
  /** The budgets that apply to the person wherever they are (their own and the workspace's). */
  mine: ForecastUsage[];
  /** The workspace's budgets; the first HOME_BUDGETS_SHOWN are listed. */
  budgets: ForecastUsage[];
  /** How many budgets exist beyond those given. */
  moreBudgets: number;
  jobs: Generation[];
  isAdmin: boolean;
  creditPriceUsd: number;
  /** Admins only: the Kling account's packs. */
  account?: AccountStatus;
}

function budgetLine(u: ForecastUsage): string {
  const forecast = forecastLine(u);
  return (
    `*${budgetName(u.budget)}*${u.budget.hard ? '' : ' (soft: alerts only)'}\n` +
    `${bar(u.committedMc, u.heldMc, u.limitMc)} ${Math.round(u.percent)}% · ${formatCredits(u.chargedMc)} of ${formatCredits(u.limitMc)} · alerts at ${u.budget.thresholds.join('%, ')}%` +
    raiseLines(u) +
    (forecast ? `\n${forecast}` : '')
  );
}

export function homeTab(home: HomeInput): View {
  const price = { creditPriceUsd: home.creditPriceUsd };
  const blocks: Block[] = [
    header('Your video budget'),
    // The same figures as /kling budget: used, held, left and when it resets.
    ...replies.budgets(home.mine, { ...price, isAdmin: false }).blocks,
    context('Channel budgets apply too, in their channels: `/kling budget` there shows them.'),
    divider(),
    header('Workspace budgets'),
  ];
  const listed = home.budgets.slice(0, HOME_BUDGETS_SHOWN);
  const more = home.moreBudgets + home.budgets.length - listed.length;
  if (!listed.length) blocks.push(section('No budgets yet.'));
  for (const u of listed)
    blocks.push(
      section(budgetLine(u), home.isAdmin ? button('Edit', ActionId.editBudget, String(u.budget.id)) : undefined),
    );
  if (more > 0) blocks.push(context(`…and ${more} more. \`/kling budget\` in a channel shows those that apply there.`));
  blocks.push(context('`█` used · `▒` held for videos in progress · `░` free'));
  if (home.isAdmin) blocks.push(actions(button('Add a budget', ActionId.newBudget, 'new', { style: 'primary' })));
  if (home.isAdmin && home.account) blocks.push(divider(), header('The Kling account'), ...accountBlocks(home.account));
  blocks.push(divider(), header('Your recent videos'), ...replies.history(home.jobs).blocks);
  return homeView(blocks);
}

const PERIODS = [
  { text: 'Day', value: 'day' },
  { text: 'Week (from Monday)', value: 'week' },
  { text: 'Month', value: 'month' },
];
const ENFORCEMENT = [
  { text: 'Hard: refuse what does not fit', value: 'hard' },
  { text: 'Soft: alert only', value: 'soft' },
];

/** The admin's modal: edit one budget (its scope and period fixed), or add one (`existing` undefined). */
export function budgetModal(existing?: BudgetRef): View {
  const target: EditedBudget | undefined = existing && {
    id: existing.id,
    scope: existing.scope,
    scopeId: existing.scopeId,
    period: existing.period,
  };
  const choose: Block[] = existing
    ? [section(`*${budgetName(existing)}*`)]
    : [
        input(
          BudgetField.scope,
          'Whose budget',
          select(
            [
              { text: 'The workspace', value: 'workspace' },
              { text: 'A channel', value: 'channel' },
              { text: 'A person', value: 'user' },
            ],
            { initial: 'workspace' },
          ),
        ),
        input(BudgetField.channel, 'Channel (for a channel budget)', channelSelect(), { optional: true }),
        input(BudgetField.person, 'Person (for a personal budget)', userSelect(), { optional: true }),
        input(BudgetField.period, 'Period', select(PERIODS, { initial: 'day' })),
      ];
  return modal({
    callbackId: ActionId.budgetSubmit,
    title: existing ? 'Edit budget' : 'Add a budget',
    submit: 'Save',
    metadata: target ?? {},
    blocks: [
      ...choose,
      input(
        BudgetField.limit,
        'Limit in credits',
        textInput({
          initial: existing ? formatCredits(existing.limitMc).replace(/,/g, '') : undefined,
          placeholder: 'e.g. 200',
        }),
      ),
      input(
        BudgetField.thresholds,
        'Alert at (percent of the limit)',
        textInput({ initial: (existing?.thresholds ?? [80, 100]).join(', ') }),
        { optional: true },
      ),
      input(
        BudgetField.enforcement,
        'When it runs out',
        radios(ENFORCEMENT, existing && !existing.hard ? 'soft' : 'hard'),
      ),
      context(
        `${existing ? 'Changes apply to the current period at once. ' : ''}Periods start at midnight in the workspace's timezone.`,
      ),
    ],
  });
}
