import { auditTrail } from '../../budget';
import { resolveReportPeriod } from '../../budget/periods';
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
      const { timezone } = await deps.ledger.ensureWorkspace(ctx.scope.teamId);
      const span = resolveReportPeriod(ctx.command.period, new Date(), timezone);
      const { entries, total } = await auditTrail(deps.db, ctx.scope.teamId, span, SHOWN);
      await ctx.ack(audit.auditTrail(entries, total, span.label));
    },
  },
};
