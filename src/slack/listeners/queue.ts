import type { App, BlockButtonAction } from '@slack/bolt';
import * as replies from '../blocks/replies';
import type { Feature, SlackDeps } from '../deps';
import { ActionId } from '../ids';
import { teamOf } from './payload';

/** The "Resume the queue" button on a queue-paused alert (admins only). */
export const queue: Feature = {
  register(app: App, deps: SlackDeps) {
    app.action<BlockButtonAction>(ActionId.resumeQueue, async ({ ack, body, respond }) => {
      await ack();
      const teamId = teamOf(body);
      if (!(await deps.admins.isAdmin(body.user.id))) {
        await respond({ response_type: 'ephemeral', replace_original: false, ...replies.notice(':lock: Only admins can resume the queue.') });
        return;
      }
      await deps.worker.resume(teamId);
    });
  },
};
