import type { BudgetScope } from '../../budget';
import { formatCredits } from '../../money/credits';
import { budgetName } from '../blocks/format';
import * as replies from '../blocks/replies';
import type { BudgetTarget } from '../commands/parse';
import type { CommandContext, Feature, SlackDeps } from '../deps';

/** `/kling budget` for everyone; `set`, `thresholds`, `alerts`, `confirm`, `forecast` and `spikes` for admins only. */

const NOT_ADMIN = replies.notice(':lock: Only workspace admins can change budgets. `/kling budget` shows what is left.');

function scopeOf(target: BudgetTarget, teamId: string): { scope: BudgetScope; scopeId: string } {
  return target.scope === 'workspace' ? { scope: 'workspace', scopeId: teamId } : { scope: target.scope, scopeId: target.id };
}

/** Acks with the refusal and returns false when the person is not an admin. */
async function requireAdmin(ctx: Pick<CommandContext, 'scope' | 'ack'>, deps: SlackDeps): Promise<boolean> {
  if (await deps.admins.isAdmin(ctx.scope.userId)) return true;
  await ctx.ack(NOT_ADMIN);
  return false;
}

export const budget: Feature = {
  commands: {
    async budget(ctx, deps) {
      await deps.workspaces.settings(ctx.scope.teamId);
      const [usages, isAdmin] = await Promise.all([deps.ledger.usageFor(ctx.scope), deps.admins.isAdmin(ctx.scope.userId)]);
      const forecasts = await deps.ledger.forecasts(usages);
      const withForecasts = usages.map((u, i) => ({ ...u, forecast: forecasts[i] }));
      await ctx.ack(replies.budgets(withForecasts, { creditPriceUsd: deps.config.CREDIT_PRICE_USD, isAdmin }));
    },

    async 'budget-set'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      const { target, period, limitMc } = ctx.command;
      await deps.workspaces.settings(ctx.scope.teamId);
      const ref = await deps.ledger.setBudget({ teamId: ctx.scope.teamId, ...scopeOf(target, ctx.scope.teamId), period, limitMc, by: ctx.scope.userId });
      await ctx.ack(replies.notice(`:white_check_mark: ${budgetName(ref)} is now ${formatCredits(ref.limitMc)} credits (alerts at ${ref.thresholds.join('%, ')}%).`));
    },

    async 'budget-thresholds'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      const { target, period, thresholds } = ctx.command;
      const { scope, scopeId } = scopeOf(target, ctx.scope.teamId);
      const existing = (await deps.ledger.budgets(ctx.scope.teamId)).find((b) => b.scope === scope && b.scopeId === scopeId && b.period === period);
      if (!existing) {
        await ctx.ack(replies.notice(`There is no such budget yet: ${budgetName({ scope, scopeId, period })}. Create it first with \`/kling budget set\`.`));
        return;
      }
      const ref = await deps.ledger.setBudget({ ...existing, thresholds, by: ctx.scope.userId });
      await ctx.ack(replies.notice(`:white_check_mark: ${budgetName(ref)} alerts at ${ref.thresholds.join('%, ')}%.`));
    },

    async 'budget-alerts'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      await deps.workspaces.settings(ctx.scope.teamId);
      await deps.ledger.setAlertsChannel(ctx.scope.teamId, ctx.command.channelId);
      await ctx.ack(replies.notice(`:white_check_mark: Budget alerts now go to <#${ctx.command.channelId}>. Invite the bot there if the channel is private.`));
      void deps.notifier.deliverAlerts(ctx.scope.teamId);
    },

    async 'budget-confirm'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      const { thresholdMc } = ctx.command;
      await deps.ledger.setConfirmThreshold(ctx.scope.teamId, thresholdMc);
      deps.workspaces.forget(ctx.scope.teamId);
      await ctx.ack(replies.notice(thresholdMc === null
        ? ':white_check_mark: Nobody is asked to confirm a price any more.'
        : `:white_check_mark: A video priced above ${formatCredits(thresholdMc)} credits now asks for a confirmation first.`));
    },

    async 'budget-forecast'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      await deps.ledger.setAlertSettings(ctx.scope.teamId, { forecastAlerts: ctx.command.on });
      await ctx.ack(replies.notice(ctx.command.on
        ? ':white_check_mark: The alerts channel now hears when a budget will run out before its period ends at the recent pace.'
        : ':white_check_mark: No more forecast alerts. `/kling budget` still shows where each budget is heading.'));
    },

    async 'budget-spikes'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      const { spikes } = ctx.command;
      await deps.ledger.setAlertSettings(ctx.scope.teamId, { spikes });
      await ctx.ack(replies.notice(spikes
        ? `:white_check_mark: A person or channel spending more than ${spikes.factor} times their usual day and more ` +
          `than ${formatCredits(spikes.minMc)} credits in a day now raises a spike alert.`
        : ':white_check_mark: No more spike alerts.'));
    },
  },
};
