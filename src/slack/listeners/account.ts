import { formatCredits } from '../../money/credits';
import { accountStatus } from '../blocks/account';
import * as replies from '../blocks/replies';
import type { Feature } from '../deps';

/** Admin `/kling account`: the Kling packs; `/kling account alerts|expiry <days>|off`: their alerts. */

const NOT_ADMIN = replies.notice(
  ':lock: Only workspace admins (or the people in ADMIN_USER_IDS) can see the Kling account.',
);

export const account: Feature = {
  commands: {
    async account(ctx, deps) {
      if (!(await deps.admins.isAdmin(ctx.scope.userId))) return ctx.ack(NOT_ADMIN);
      await ctx.ack(accountStatus(await deps.account.status()));
    },

    async 'account-alerts'(ctx, deps) {
      if (!(await deps.admins.isAdmin(ctx.scope.userId))) return ctx.ack(NOT_ADMIN);
      const { alert, days } = ctx.command;
      await deps.account.setAlertDays(alert, days);
      const what = alert === 'runout' ? 'the Kling units run out' : 'a Kling pack expires with units left';
      await ctx.ack(
        replies.notice(
          days === 0
            ? `:white_check_mark: No more alerts when ${what}.`
            : `:white_check_mark: An alert is posted when ${what} within ${days} day${days === 1 ? '' : 's'}.`,
        ),
      );
    },

    async 'account-reconcile'(ctx, deps) {
      if (!(await deps.admins.isAdmin(ctx.scope.userId))) return ctx.ack(NOT_ADMIN);
      const { toleranceMc } = ctx.command;
      await deps.account.setReconcileTolerance(toleranceMc);
      const differing = toleranceMc ? `more than ${formatCredits(toleranceMc)} credits` : 'anything';
      await ctx.ack(
        replies.notice(
          toleranceMc === null
            ? ":white_check_mark: Kling's charges are no longer checked against the ledger."
            : `:white_check_mark: Once a day, a task Kling charged ${differing} above or below the ledger is an alert.`,
        ),
      );
    },
  },
};
