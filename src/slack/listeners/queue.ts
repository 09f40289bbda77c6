import type { App, BlockButtonAction } from '@slack/bolt';
import type { Message } from '../blocks/kit';
import * as replies from '../blocks/replies';
import type { Feature, SlackDeps } from '../deps';
import { ActionId } from '../ids';
import { teamOf } from './payload';

/** Admins only: un-pauses the workspace's queue. Returns what to tell the person. */
async function resumeQueue(teamId: string, userId: string, deps: SlackDeps): Promise<Message> {
  if (!(await deps.admins.isAdmin(userId))) return replies.notice(':lock: Only admins can resume the queue.');
  const resumed = await deps.worker.resume(teamId);
  if (!resumed) return replies.notice('The video queue is not paused.');
  return replies.notice(':arrow_forward: Resumed: queued videos go to Kling again.');
}

/** `/kling queue resume` and the "Resume the queue" button on a queue-paused alert (admins only). */
export const queue: Feature = {
  commands: {
    async 'queue-resume'(ctx, deps) {
      await ctx.ack(await resumeQueue(ctx.scope.teamId, ctx.scope.userId, deps));
    },
  },

  register(app: App, deps: SlackDeps) {
    app.action<BlockButtonAction>(ActionId.resumeQueue, async ({ ack, body, respond }) => {
      await ack();
      const answer = await resumeQueue(teamOf(body), body.user.id, deps);
      await respond({ response_type: 'ephemeral', replace_original: false, ...answer });
    });
  },
};
