import { DigestDayError, NoDigestChannelError } from '../../digest';
import * as replies from '../blocks/replies';
import type { Feature } from '../deps';
import { renderDigest } from '../digest-poster';

/** Admin `/kling digest now|preview`: acked at once, answered when the digest is built. */
export const digest: Feature = {
  commands: {
    async digest(ctx, deps) {
      if (!(await deps.admins.isAdmin(ctx.scope.userId))) {
        await ctx.ack(replies.notice(':lock: Only workspace admins can run the digest.'));
        return;
      }
      await ctx.ack(replies.notice(ctx.command.action === 'now' ? 'Posting the digest…' : 'Building the preview…'));
      try {
        if (ctx.command.action === 'preview') {
          const preview = await deps.digest.preview(ctx.scope.teamId, ctx.command.day);
          await ctx.respond({
            response_type: 'ephemeral',
            replace_original: true,
            ...(await renderDigest(preview, deps.people)),
          });
        } else {
          await deps.digest.postNow(ctx.scope.teamId);
          await ctx.respond({
            response_type: 'ephemeral',
            replace_original: true,
            ...replies.notice(':white_check_mark: The digest is posted.'),
          });
        }
      } catch (error) {
        if (error instanceof DigestDayError) {
          await ctx.respond({
            response_type: 'ephemeral',
            replace_original: true,
            ...replies.notice(`:warning: ${error.message}`),
          });
          return;
        }
        if (!(error instanceof NoDigestChannelError)) throw error;
        await ctx.respond({
          response_type: 'ephemeral',
          replace_original: true,
          ...replies.notice(`:warning: ${error.message} (\`/kling budget alerts #channel\`)`),
        });
      }
    },
  },
};
