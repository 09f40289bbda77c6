import type { App, BlockButtonAction } from '@slack/bolt';
import { GenerationError, type Generation } from '../../generations';
import { jobRef } from '../blocks/format';
import type { Message } from '../blocks/kit';
import * as replies from '../blocks/replies';
import type { Feature, SlackDeps } from '../deps';
import { escape } from '../escape';
import { ActionId } from '../ids';
import { teamOf } from './payload';

/** `/kling status` (a job, or the queue), `/kling history`, `/kling cancel` and the card's Cancel button. */

/** The one job a typed reference names, or what to tell the person (no such job, or which ones it could be). */
async function findJob(ref: string, teamId: string, deps: SlackDeps): Promise<Generation | Message> {
  const found = await deps.queue.find(teamId, ref);
  return found.length === 1 ? found[0]! : replies.jobNotFound(ref, found);
}

/** Only the requester or an admin cancels; the card is re-rendered from the row. Returns what to tell the person. */
async function cancelJob(ref: string, teamId: string, userId: string, deps: SlackDeps) {
  const job = await findJob(ref, teamId, deps);
  if (!('id' in job)) return job;
  if (job.userId !== userId && !(await deps.admins.isAdmin(userId))) {
    return replies.notice(`Only <@${job.userId}> or an admin can cancel job ${jobRef(job)}.`);
  }
  try {
    await deps.queue.cancel(job.id, userId);
  } catch (error) {
    if (!(error instanceof GenerationError)) throw error;
    return replies.notice(`Job ${jobRef(job)} cannot be cancelled: ${escape(error.message)}`);
  }
  void deps.cards.sync(job.id);
  return replies.notice(`Cancelled job ${jobRef(job)}; its credits went back to the budget.`);
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
      await ctx.ack('id' in job ? await deps.cards.card(job) : job);
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
