import type { App, BlockButtonAction, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { budgetModal, homeTab, HOME_BUDGETS_SHOWN } from '../blocks/home';
import { BudgetField, readBudgetForm, type EditedBudget } from '../commands/budget-form';
import type { Feature, SlackDeps } from '../deps';
import { ActionId } from '../ids';
import { teamOf } from './payload';

/**
 * The App Home tab: the person's usage, the workspace's budgets as bars, their recent videos. Admins
 * get Edit and Add buttons that open a budget modal; saving it calls `ledger.setBudget` and
 * republishes the admin's home.
 */

const RECENT_JOBS = 10;

async function publishHome(userId: string, teamId: string, client: WebClient, deps: SlackDeps): Promise<void> {
  const admin = deps.admins.isAdmin(userId);
  const [home, isAdmin, account] = await Promise.all([
    deps.requests.homeOf(teamId, userId, { shown: HOME_BUDGETS_SHOWN, jobs: RECENT_JOBS }),
    admin,
    // The Kling account's packs, for admins only.
    admin.then((yes) => (yes ? deps.account.status() : undefined)),
  ]);
  const view = homeTab({
    ...home,
    isAdmin,
    creditPriceUsd: deps.config.CREDIT_PRICE_USD,
    ...(account && { account }),
  });
  await client.views.publish({ user_id: userId, view });
}

/** The budget an edit modal is about (none for a new one); undefined when private_metadata is not the bot's. */
function readMetadata(metadata: string | undefined): Partial<EditedBudget> | undefined {
  try {
    const target: unknown = JSON.parse(metadata || '{}');
    const readable = typeof target === 'object' && target !== null && !Array.isArray(target);
    return readable ? (target as Partial<EditedBudget>) : undefined;
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
      const existing =
        budgetId === undefined ? undefined : (await deps.ledger.budgets(teamId)).find((b) => b.id === budgetId);
      if (!(await deps.admins.isAdmin(body.user.id)) || (budgetId !== undefined && !existing)) {
        await publishHome(body.user.id, teamId, client, deps);
        return;
      }
      await client.views.open({ trigger_id: body.trigger_id, view: budgetModal(existing) });
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
        await ack({
          response_action: 'errors',
          errors: { [BudgetField.limit]: 'Only workspace admins can change budgets.' },
        });
        return;
      }
      const target = readMetadata(view.private_metadata);
      if (!target) {
        const unreadable = 'This form could not be read. Close it and open it again from the Home tab.';
        await ack({ response_action: 'errors', errors: { [BudgetField.limit]: unreadable } });
        return;
      }
      const fixed = target.scope && target.scopeId && target.period ? (target as EditedBudget) : undefined;
      const read = readBudgetForm(view.state?.values ?? {}, teamId, fixed);
      if ('errors' in read) {
        await ack({ response_action: 'errors', errors: read.errors as Record<string, string> });
        return;
      }
      await deps.requests.setBudget({ teamId, ...read.budget, by: userId, why: 'App Home budget form' });
      await ack();
      await publishHome(userId, teamId, client, deps);
    });
  },
};
