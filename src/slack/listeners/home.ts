import type { App, BlockButtonAction, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { budgetModal, homeTab, HOME_BUDGETS_SHOWN } from '../blocks/home';
import { BudgetField, readBudgetForm, type BudgetTarget } from '../commands/budget-form';
import type { Feature, SlackDeps } from '../deps';
import { ActionId } from '../ids';
import { teamOf } from './payload';

/**
 * The App Home tab: the person's usage, the workspace's budgets as bars, their recent videos. Admins
 * get Edit and Add buttons that open a budget modal; saving it calls `ledger.setBudget` and
 * republishes the admin's home.
 */

const RECENT_JOBS = 10;

export async function publishHome(userId: string, teamId: string, client: WebClient, deps: SlackDeps): Promise<void> {
  await deps.workspaces.settings(teamId);
  const [mine, refs, jobs, isAdmin] = await Promise.all([
    // No channel: the budgets that follow the person everywhere (theirs and the workspace's).
    deps.ledger.usageFor({ teamId, channelId: '', userId }),
    deps.ledger.budgets(teamId),
    deps.queue.history(teamId, userId, RECENT_JOBS),
    deps.admins.isAdmin(userId),
  ]);
  const budgets = await deps.ledger.usages(refs.slice(0, HOME_BUDGETS_SHOWN).map((b) => b.id));
  // One pace query for both lists, which mostly overlap.
  const listed = new Set(budgets.map((u) => u.budget.id));
  const all = [...budgets, ...mine.filter((u) => !listed.has(u.budget.id))];
  const forecasts = await deps.ledger.forecasts(all);
  const forecastOf = new Map(all.map((u, i) => [u.budget.id, forecasts[i]]));
  const withForecast = <T extends { budget: { id: number } }>(u: T) => ({ ...u, forecast: forecastOf.get(u.budget.id) });
  const view = homeTab({
    mine: mine.map(withForecast), budgets: budgets.map(withForecast), moreBudgets: refs.length - budgets.length,
    jobs, isAdmin, creditPriceUsd: deps.config.CREDIT_PRICE_USD,
  });
  await client.views.publish({ user_id: userId, view: view as never });
}

/** The budget an edit modal is about (none for a new one); undefined when private_metadata is not the bot's. */
function readMetadata(metadata: string | undefined): Partial<BudgetTarget> | undefined {
  try {
    const target: unknown = JSON.parse(metadata || '{}');
    const readable = typeof target === 'object' && target !== null && !Array.isArray(target);
    return readable ? (target as Partial<BudgetTarget>) : undefined;
  } catch {
    return undefined;
  }
}

export const home: Feature = {
  register(app: App, deps: SlackDeps) {
    app.event('app_home_opened', async ({ event, body, client }) => {
      // The event also fires for the Messages tab.
      if (event.tab !== 'home') return;
      await publishHome(event.user, body.team_id, client, deps);
    });

    /** Edit and Add: admins get the modal; anyone else (rights taken away since) gets a home without the buttons. */
    async function openBudgetModal(body: BlockButtonAction, client: WebClient, budgetId?: number): Promise<void> {
      const teamId = teamOf(body);
      const existing = budgetId === undefined ? undefined : (await deps.ledger.budgets(teamId)).find((b) => b.id === budgetId);
      if (!(await deps.admins.isAdmin(body.user.id)) || (budgetId !== undefined && !existing)) {
        await publishHome(body.user.id, teamId, client, deps);
        return;
      }
      await client.views.open({ trigger_id: body.trigger_id, view: budgetModal(existing) as never });
    }

    app.action<BlockButtonAction>(ActionId.editBudget, async ({ ack, body, client }) => {
      await ack();
      await openBudgetModal(body, client, Number(body.actions[0]!.value));
    });

    app.action<BlockButtonAction>(ActionId.newBudget, async ({ ack, body, client }) => {
      await ack();
      await openBudgetModal(body, client);
    });

    app.view<ViewSubmitAction>(ActionId.budgetSubmit, async ({ ack, body, view, client }) => {
      const teamId = teamOf(body);
      const userId = body.user.id;
      if (!(await deps.admins.isAdmin(userId))) {
        await ack({ response_action: 'errors', errors: { [BudgetField.limit]: 'Only workspace admins can change budgets.' } });
        return;
      }
      const target = readMetadata(view.private_metadata);
      if (!target) {
        const unreadable = 'This form could not be read. Close it and open it again from the Home tab.';
        await ack({ response_action: 'errors', errors: { [BudgetField.limit]: unreadable } });
        return;
      }
      const fixed = target.scope && target.scopeId && target.period ? (target as BudgetTarget) : undefined;
      const read = readBudgetForm((view.state?.values ?? {}) as never, teamId, fixed);
      if ('errors' in read) {
        await ack({ response_action: 'errors', errors: read.errors as Record<string, string> });
        return;
      }
      await deps.ledger.setBudget({ teamId, ...read.budget, by: userId });
      await ack();
      await publishHome(userId, teamId, client, deps);
    });
  },
};
