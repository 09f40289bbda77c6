import type { App, BlockButtonAction } from '@slack/bolt';
import { describeRequest, credits } from '../blocks/format';
import { message, section, context } from '../blocks/kit';
import * as replies from '../blocks/replies';
import { parseCommand } from '../commands/parse';
import { quoteRequest } from '../commands/request';
import type { Feature, SlackDeps } from '../deps';
import { ActionId } from '../ids';

/**
 * "Request approval" on a refusal by a user or channel budget: the request goes to the admins (alerts
 * channel, else their DMs). This is the hook for the approval flow: approve/deny buttons on that
 * message, an approval recorded as `ledger.adjust` for the period, then `requestVideo` again.
 */
export const approvals: Feature = {
  register(app: App, deps: SlackDeps) {
    app.action<BlockButtonAction>(ActionId.requestApproval, async ({ ack, body, respond }) => {
      await ack();
      const request = deps.pending.decode(body.actions[0]!.value ?? '');
      const command = request && parseCommand(request.text);
      if (!command || command.kind !== 'generate') {
        await respond({ replace_original: true, ...replies.notice('This button has expired. Run the /kling command again.') });
        return;
      }
      const quote = quoteRequest(deps.catalog, command.prompt, command.flags, deps.config.DEFAULT_MODEL);
      const teamId = body.team?.id ?? body.user.team_id ?? '';
      await deps.notifier.alertAdmins(
        teamId,
        message('A video needs approval', [
          section(`:raised_hand: <@${body.user.id}> asks to go over budget in <#${body.channel?.id ?? ''}>: *${describeRequest(quote.request.body)}*, ${credits(quote.credits, deps.config.CREDIT_PRICE_USD)}.`),
          context('Raise the budget with `/kling budget set …` if you agree; the person can then run the command again.'),
        ]),
      );
      await respond({ replace_original: true, ...replies.notice(':incoming_envelope: Sent to the admins.') });
    });
  },
};
