import { performance } from 'node:perf_hooks';
import type { App } from '@slack/bolt';
import * as replies from '../blocks/replies';
import type { Message } from '../blocks/kit';
import { parseCommand, UsageError } from '../commands/parse';
import type { CommandContext, CommandHandlers, SlackDeps } from '../deps';

/**
 * The one slash command. It parses, answers mistakes with the usage, and hands the command to the
 * feature that owns it. Acks are timed from the moment the receiver read the request, and counted in
 * deps.acksFirst until they are sent.
 */
export function registerSlashCommand(app: App, deps: SlackDeps, handlers: CommandHandlers): void {
  app.command('/kling', async ({ command, ack, respond, client, context }) => {
    const receivedAt = typeof context.receivedAt === 'number' ? context.receivedAt : performance.now();
    let acked = false;
    const awaitingAck = deps.acksFirst.begin();
    const timedAck = async (message?: Message) => {
      if (acked) return;
      acked = true;
      await ack(message ? { response_type: 'ephemeral', ...message } : undefined).finally(awaitingAck);
      deps.metrics.ackSeconds.observe({ kind: 'command' }, (performance.now() - receivedAt) / 1000);
    };
    const scope = { teamId: command.team_id, channelId: command.channel_id, userId: command.user_id };
    try {
      const parsed = parseCommand(command.text);
      deps.metrics.commands.inc({ command: parsed.kind });
      const handler = handlers[parsed.kind] as ((ctx: CommandContext, deps: SlackDeps) => Promise<void>) | undefined;
      if (!handler) {
        await timedAck(replies.notice(`\`/kling ${parsed.kind}\` is not available in this installation yet.`));
        return;
      }
      await handler(
        {
          command: parsed,
          text: command.text,
          scope,
          triggerId: command.trigger_id,
          ackDeadline: receivedAt + deps.ackWithinMs,
          ack: timedAck,
          respond,
          client,
        },
        deps,
      );
    } catch (error) {
      if (error instanceof UsageError) {
        deps.metrics.commands.inc({ command: 'mistake' });
        if (!acked) await timedAck(replies.usageError(error));
        else await respond({ response_type: 'ephemeral', replace_original: true, ...replies.usageError(error) });
        return;
      }
      deps.logger.error({ err: error, scope }, '/kling failed');
      const sorry = replies.notice(
        ':warning: Something went wrong on our side. `/kling history` shows whether your request was queued.',
      );
      if (!acked) await timedAck(sorry);
      else await respond({ response_type: 'ephemeral', ...sorry }).catch(() => undefined);
    } finally {
      awaitingAck(); // a handler that never acked (Bolt answers for it) must not hold the cards back
    }
  });
}
