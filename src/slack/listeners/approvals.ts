import type { App, BlockButtonAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { Clock } from '../../clock';
import { formatCredits } from '../../money/credits';
import type { ApprovalRequest, ApproveOutcome } from '../../requests';
import { approvalAnswer, approvalDecided, approvalRequest, approvalSent } from '../blocks/approvals';
import { slackDate } from '../blocks/format';
import type { Message } from '../blocks/kit';
import * as replies from '../blocks/replies';
import { parseCommand, UsageError } from '../commands/parse';
import { quoteRequest } from '../commands/request';
import type { Feature, SlackDeps } from '../deps';
import { deliver } from '../delivery';
import { ActionId } from '../ids';
import { teamOf } from './payload';

/**
 * Approvals: "Request approval" on a refusal by a user or channel budget posts the request to the admins
 * (alerts channel, else their DMs) with Approve and Deny. Only an admin decides; the requester hears the
 * outcome in a DM. The rules (once per button, once per request, what an approval raises) are the use cases'.
 */

function promptOf(commandText: string): string {
  try {
    const command = parseCommand(commandText);
    return command.kind === 'generate' ? command.prompt : '';
  } catch {
    return '';
  }
}

/** Prices a `/kling generate …` text as the command would, with its tag; a mistake in it is a UsageError. */
function priceOf(commandText: string, deps: SlackDeps) {
  const command = parseCommand(commandText);
  if (command.kind !== 'generate') throw new UsageError('This request is not a /kling generate command.');
  const quote = quoteRequest(deps.catalog, command.prompt, command.flags, deps.config.DEFAULT_MODEL);
  return { quote, tag: command.flags.tag };
}

async function tellRequester(
  request: ApprovalRequest,
  answer: Message,
  deps: SlackDeps,
  client: WebClient,
): Promise<void> {
  try {
    const dm = await client.conversations.open({ users: request.userId });
    await deliver(
      `approval answer to ${request.userId}`,
      () => client.chat.postMessage({ channel: dm.channel!.id!, ...answer }),
      { logger: deps.logger },
    );
  } catch (error) {
    deps.logger.error({ err: error, approvalId: request.id }, 'approval: the requester could not be told');
  }
}

async function ephemeral(respond: RespondFn, text: string): Promise<void> {
  await respond({ response_type: 'ephemeral', replace_original: false, ...replies.notice(text) });
}

/** A click on a request someone already decided changes nothing; the clicker is told who decided. */
function alreadyDecided(request: ApprovalRequest, respond: RespondFn, now: Clock) {
  return ephemeral(
    respond,
    `<@${request.decidedBy}> already ${request.state} this request ${slackDate(request.decidedAt ?? now())}.`,
  );
}

/** Why an admin's click decided nothing; undefined when it did. */
async function undecided(
  outcome: { kind: string; request?: ApprovalRequest },
  respond: RespondFn,
  now: Clock,
): Promise<void> {
  switch (outcome.kind) {
    case 'unknown':
      return ephemeral(respond, 'This request is no longer known.');
    case 'other-workspace':
      return ephemeral(
        respond,
        ':lock: This request belongs to another workspace: its own admins decide it. Nothing changed.',
      );
    case 'decided-already':
      return alreadyDecided(outcome.request!, respond, now);
  }
}

/** Only admins decide; anyone else is told so and nothing changes. */
async function requireAdmin(userId: string, respond: RespondFn, deps: SlackDeps): Promise<boolean> {
  if (await deps.admins.isAdmin(userId)) return true;
  await ephemeral(respond, ':lock: Thanks, but only admins can approve or deny a request over budget.');
  return false;
}

export const approvals: Feature = {
  register(app: App, deps: SlackDeps) {
    const price = { creditPriceUsd: deps.config.CREDIT_PRICE_USD };
    const decision = (body: BlockButtonAction) => ({
      approvalId: body.actions[0]!.value ?? '',
      teamId: teamOf(body),
      adminId: body.user.id,
    });

    app.action<BlockButtonAction>(ActionId.requestApproval, async ({ ack, body, respond }) => {
      await ack();
      const request = deps.pending.decode(body.actions[0]!.value ?? '');
      const command = request && parseCommand(request.text);
      if (!request || command?.kind !== 'generate') {
        await respond({
          replace_original: true,
          ...replies.notice('This button has expired. Run the /kling command again.'),
        });
        return;
      }
      const scope = { teamId: teamOf(body), channelId: body.channel?.id ?? '', userId: body.user.id };
      const quote = quoteRequest(deps.catalog, command.prompt, command.flags, deps.config.DEFAULT_MODEL);
      const asked = await deps.requests.askApproval(scope, {
        commandText: request.text,
        quote,
        claimKey: request.claim,
      });
      switch (asked.kind) {
        case 'asked-already':
          if (asked.earlier.state !== 'pending') return alreadyDecided(asked.earlier, respond, deps.now);
          await respond({
            replace_original: true,
            ...replies.notice(
              ':incoming_envelope: Already sent to the admins. You will get a message when one of them decides.',
            ),
          });
          return;
        case 'workspace-short':
          await respond({
            replace_original: true,
            ...replies.notice(
              ':no_entry: The workspace budget is short too, and approvals only cover user and channel budgets. An admin can raise it with `/kling budget set workspace …`.',
            ),
          });
          return;
        case 'fits':
          await respond({
            replace_original: true,
            ...replies.notice(':white_check_mark: This fits your budgets now: run the command again.'),
          });
          return;
        case 'sent': {
          const ask = approvalRequest(asked.approval, command.prompt, asked.raisable, price);
          const sent = await deps.notifier.alertAdmins(scope.teamId, ask);
          // Reaching nobody keeps the button, so the requester can try again once the channel is fixed.
          await respond({ replace_original: sent.via !== 'none', ...approvalSent(sent, asked.approval.id) });
        }
      }
    });

    app.action<BlockButtonAction>(ActionId.approve, async ({ ack, body, respond, client }) => {
      await ack();
      if (!(await requireAdmin(body.user.id, respond, deps))) return;
      let outcome: ApproveOutcome;
      try {
        outcome = await deps.requests.approve(decision(body), (text) => priceOf(text, deps));
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        await ephemeral(
          respond,
          `This request can no longer be priced: ${error.message} Deny it, and ask for a new one.`,
        );
        return;
      }
      if (outcome.kind === 'workspace-short') {
        await ephemeral(
          respond,
          `Not approved yet: the workspace budget has ${formatCredits(outcome.remainingMc)} credits left and this needs ${formatCredits(outcome.amountMc)}. Raise it with \`/kling budget set workspace …\` first, then approve.`,
        );
        return;
      }
      if (outcome.kind !== 'approved') return undecided(outcome, respond, deps.now);
      const { request, raised, queued } = outcome;
      await respond({
        replace_original: true,
        ...approvalDecided(request, promptOf(request.commandText), { ...price, raised, refusedAgain: !queued }),
      });
      await tellRequester(request, approvalAnswer(request, queued ? 'queued' : 'refused'), deps, client);
    });

    app.action<BlockButtonAction>(ActionId.deny, async ({ ack, body, respond, client }) => {
      await ack();
      if (!(await requireAdmin(body.user.id, respond, deps))) return;
      const outcome = await deps.requests.deny(decision(body));
      if (outcome.kind !== 'denied') return undecided(outcome, respond, deps.now);
      await respond({
        replace_original: true,
        ...approvalDecided(outcome.request, promptOf(outcome.request.commandText), price),
      });
      await tellRequester(outcome.request, approvalAnswer(outcome.request, 'denied'), deps, client);
    });
  },
};
