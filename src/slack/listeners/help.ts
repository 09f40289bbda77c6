import * as replies from '../blocks/replies';
import type { Feature } from '../deps';

export const help: Feature = {
  commands: {
    async help(ctx) {
      await ctx.ack(replies.help());
    },
  },
};
