import { isTimezone, type BudgetScope } from '../../budget';
import { formatCredits } from '../../money/credits';
import { budgetName, slackDate } from '../blocks/format';
import { escape } from '../escape';
import * as replies from '../blocks/replies';
import type { BudgetOwner } from '../commands/parse';
import type { CommandContext, Feature, SlackDeps } from '../deps';

/** `/kling budget` for everyone; `set`, `thresholds`, `alerts`, `confirm`, `forecast` and `spikes` for admins only. */

const NOT_ADMIN = replies.notice(
  ':lock: Only workspace admins can change budgets. `/kling budget` shows what is left.',
);

function scopeOf(target: BudgetOwner, teamId: string): { scope: BudgetScope; scopeId: string } {
  return target.scope === 'workspace'
    ? { scope: 'workspace', scopeId: teamId }
    : { scope: target.scope, scopeId: target.id };
}

/** Who made a change and why, for the audit trail: the admin and the command as typed. */
function authorOf(ctx: Pick<CommandContext, 'scope' | 'text'>): { by: string; why: string } {
  return { by: ctx.scope.userId, why: `/kling ${ctx.text}` };
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
      const { period } = ctx.command;
      const price = { creditPriceUsd: deps.config.CREDIT_PRICE_USD };
      if (period) {
        const [{ label, usages }, isAdmin] = await Promise.all([
          deps.requests.budgetsIn(ctx.scope, period, deps.now()),
          deps.admins.isAdmin(ctx.scope.userId),
        ]);
        await ctx.ack(replies.budgets(usages, { ...price, isAdmin, past: { label } }));
        return;
      }
      const [withForecasts, isAdmin] = await Promise.all([
        deps.requests.budgetsFor(ctx.scope),
        deps.admins.isAdmin(ctx.scope.userId),
      ]);
      await ctx.ack(replies.budgets(withForecasts, { ...price, isAdmin }));
    },

    async 'budget-set'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      const { target, period, limitMc } = ctx.command;
      const input = {
        teamId: ctx.scope.teamId,
        ...scopeOf(target, ctx.scope.teamId),
        period,
        limitMc,
        ...authorOf(ctx),
      };
      await ctx.ack(replies.budgetSet(await deps.requests.setBudget(input)));
    },

    async 'budget-thresholds'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      const { target, period, thresholds } = ctx.command;
      const { scope, scopeId } = scopeOf(target, ctx.scope.teamId);
      const existing = (await deps.ledger.budgets(ctx.scope.teamId)).find(
        (b) => b.scope === scope && b.scopeId === scopeId && b.period === period,
      );
      if (!existing) {
        await ctx.ack(
          replies.notice(
            `There is no such budget yet: ${budgetName({ scope, scopeId, period })}. Create it first with \`/kling budget set\`.`,
          ),
        );
        return;
      }
      const { budget: ref } = await deps.requests.setBudget({ ...existing, thresholds, ...authorOf(ctx) });
      await ctx.ack(replies.notice(`:white_check_mark: ${budgetName(ref)} alerts at ${ref.thresholds.join('%, ')}%.`));
    },

    async 'budget-alerts'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      await deps.requests.setAlertsChannel(ctx.scope.teamId, ctx.command.channelId, authorOf(ctx));
      await ctx.ack(
        replies.notice(
          `:white_check_mark: Budget alerts now go to <#${ctx.command.channelId}>. Invite the bot there if the channel is private.`,
        ),
      );
      void deps.notifier.deliverAlerts(ctx.scope.teamId);
    },

    async 'budget-confirm'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      const { thresholdMc } = ctx.command;
      await deps.requests.setConfirmThreshold(ctx.scope.teamId, thresholdMc, authorOf(ctx));
      await ctx.ack(
        replies.notice(
          thresholdMc === null
            ? ':white_check_mark: Nobody is asked to confirm a price any more.'
            : `:white_check_mark: A video priced above ${formatCredits(thresholdMc)} credits now asks for a confirmation first.`,
        ),
      );
    },

    async 'budget-forecast'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      await deps.ledger.setAlertSettings(ctx.scope.teamId, { forecastAlerts: ctx.command.on }, authorOf(ctx));
      await ctx.ack(
        replies.notice(
          ctx.command.on
            ? ':white_check_mark: The alerts channel now hears when a budget will run out before its period ends at the recent pace.'
            : ':white_check_mark: No more forecast alerts. `/kling budget` still shows where each budget is heading.',
        ),
      );
    },

    async 'budget-timezone'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      const { timezone } = ctx.command;
      if (!isTimezone(timezone)) {
        const wrong = `\`${escape(timezone)}\` is not a timezone: use an IANA name such as Europe/Berlin or America/New_York.`;
        await ctx.ack(replies.notice(wrong));
        return;
      }
      const from = await deps.requests.setTimezone(ctx.scope.teamId, timezone, authorOf(ctx));
      await ctx.ack(
        replies.notice(
          `:white_check_mark: From ${slackDate(from)}, periods start at midnight in ` +
            `${escape(timezone)}. The current periods keep their start and end, so no counter is split.`,
        ),
      );
    },

    async 'budget-spikes'(ctx, deps) {
      if (!(await requireAdmin(ctx, deps))) return;
      const { spikes } = ctx.command;
      await deps.ledger.setAlertSettings(ctx.scope.teamId, { spikes }, authorOf(ctx));
      await ctx.ack(
        replies.notice(
          spikes
            ? `:white_check_mark: A person or channel spending more than ${spikes.factor} times their usual day and more ` +
                `than ${formatCredits(spikes.minMc)} credits in a day now raises a spike alert.`
            : ':white_check_mark: No more spike alerts.',
        ),
      );
    },
  },
};
