import * as audit from '../blocks/audit';
import * as replies from '../blocks/replies';
import type { Feature } from '../deps';

/** How many changes one message lists (the blocks stay well inside Slack's limits). */
const SHOWN = 60;

/** Admin `/kling audit [period]`: who changed which budget, when, from what to what, and why. */
export const auditCommand: Feature = {
  commands: {
    async audit(ctx, deps) {
      if (!(await deps.admins.isAdmin(ctx.scope.userId))) {
        const lock = ':lock: Only workspace admins can read the audit trail.';
        await ctx.ack(replies.notice(lock));
        return;
      }
      const { entries, total, label } = await deps.requests.auditOf(
        ctx.scope.teamId,
        ctx.command.period,
        SHOWN,
        deps.now(),
      );
      await ctx.ack(audit.auditTrail(entries, total, label));
    },
  },
};
