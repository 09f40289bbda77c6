import type { App, BlockButtonAction } from '@slack/bolt';
import { GenerationError, type Generation } from '../../generations';
import { jobCard } from '../blocks/job-card';
import * as replies from '../blocks/replies';
import type { Feature, SlackDeps } from '../deps';
import { escape } from '../escape';
import { ActionId } from '../ids';
import { teamOf } from './payload';

/** `/kling status` (a job, or the queue), `/kling history`, `/kling cancel` and the card's Cancel button. */

async function findJob(id: string, teamId: string, deps: SlackDeps): Promise<Generation | undefined> {
  const job = await deps.queue.get(id);
  return job && job.teamId === teamId ? job : undefined;
}

/** Only the requester or an admin cancels; the card is re-rendered from the row. Returns what to tell the person. */
async function cancelJob(id: string, teamId: string, userId: string, deps: SlackDeps) {
  const job = await findJob(id, teamId, deps);
  if (!job) return replies.notice(`There is no job \`${escape(id)}\` in this workspace.`);
  if (job.userId !== userId && !(await deps.admins.isAdmin(userId))) {
    return replies.notice(`Only <@${job.userId}> or an admin can cancel job \`${escape(id)}\`.`);
  }
  try {
    await deps.queue.cancel(id, userId);
  } catch (error) {
    if (!(error instanceof GenerationError)) throw error;
    return replies.notice(`Job \`${escape(id)}\` cannot be cancelled: ${escape(error.message)}`);
  }
  void deps.cards.sync(id);
  return replies.notice(`Cancelled job \`${escape(id)}\`; its credits went back to the budget.`);
}

export const jobs: Feature = {
  commands: {
    async status(ctx, deps) {
      const { id } = ctx.command;
      if (id === undefined) {
        await ctx.ack(replies.queueStatus(await deps.queue.pause(ctx.scope.teamId)));
        return;
      }
      const job = await findJob(id, ctx.scope.teamId, deps);
      await ctx.ack(
        job
          ? jobCard(job, { now: deps.now(), creditPriceUsd: deps.config.CREDIT_PRICE_USD })
          : replies.notice(`There is no job \`${escape(id)}\` in this workspace. \`/kling history\` lists yours.`),
      );
    },

    async history(ctx, deps) {
      await ctx.ack(replies.history(await deps.queue.history(ctx.scope.teamId, ctx.scope.userId, 20)));
    },

    async cancel(ctx, deps) {
      await ctx.ack(await cancelJob(ctx.command.id, ctx.scope.teamId, ctx.scope.userId, deps));
    },
  },

  register(app: App, deps: SlackDeps) {
    app.action<BlockButtonAction>(ActionId.cancelJob, async ({ ack, body, respond }) => {
      await ack();
      const teamId = teamOf(body);
      const answer = await cancelJob(body.actions[0]!.value ?? '', teamId, body.user.id, deps);
      await respond({ response_type: 'ephemeral', replace_original: false, ...answer });
    });
  },
};
