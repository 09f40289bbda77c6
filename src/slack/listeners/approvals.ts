import type { App, BlockButtonAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { RequestScope, Usage } from '../../budget';
import type { Db } from '../../db';
import { formatCredits, type Millicredits } from '../../money/credits';
import { ApprovalRequests, type ApprovalRequest } from '../approval-requests';
import { approvalAnswer, approvalDecided, approvalRequest, approvalSent } from '../blocks/approvals';
import { slackDate } from '../blocks/format';
import type { Message } from '../blocks/kit';
import * as replies from '../blocks/replies';
import { parseCommand, UsageError } from '../commands/parse';
import { quoteRequest } from '../commands/request';
import type { Feature, SlackDeps } from '../deps';
import { deliver } from '../delivery';
import { ActionId } from '../ids';
import { requestVideo, startJobs } from './generate';
import { teamOf } from './payload';

/**
 * Approvals (design §3): "Request approval" on a refusal by a user or channel budget posts the request
 * to the admins (alerts channel, else their DMs) with Approve and Deny, once per button. Only an admin of the
 * request's workspace decides, once: the approvals row is the claim. An approval raises each short budget by
 * what the request lacks, for the current period (`ledger.adjust`), and reserves and queues the request the
 * way /kling generate does, all in the enqueue's one transaction. The requester hears the outcome in a DM.
 */

/** The hard user and channel budgets without room for `amountMc`, and a short workspace budget, which no approval raises. */
function shortBudgets(usages: Usage[], amountMc: Millicredits): { raisable: Usage[]; workspace?: Usage } {
  const short = usages.filter((u) => u.budget.hard && u.remainingMc < amountMc);
  return { raisable: short.filter((u) => u.budget.scope !== 'workspace'), workspace: short.find((u) => u.budget.scope === 'workspace') };
}

function promptOf(commandText: string): string {
  try {
    const command = parseCommand(commandText);
    return command.kind === 'generate' ? command.prompt : '';
  } catch {
    return '';
  }
}

const scopeOf = (r: ApprovalRequest): RequestScope => ({ teamId: r.teamId, channelId: r.channelId, userId: r.userId });

async function tellRequester(request: ApprovalRequest, answer: Message, deps: SlackDeps, client: WebClient): Promise<void> {
  try {
    const dm = await client.conversations.open({ users: request.userId });
    await deliver(`approval answer to ${request.userId}`, () => client.chat.postMessage({ channel: dm.channel!.id!, ...answer }), { logger: deps.logger });
  } catch (error) {
    deps.logger.error({ err: error, approvalId: request.id }, 'approval: the requester could not be told');
  }
}

const ephemeral = (respond: RespondFn, text: string) => respond({ response_type: 'ephemeral', replace_original: false, ...replies.notice(text) });

/** A click on a request someone already decided changes nothing; the clicker is told who decided. */
function alreadyDecided(request: ApprovalRequest, respond: RespondFn) {
  return ephemeral(respond, `<@${request.decidedBy}> already ${request.state} this request ${slackDate(request.decidedAt ?? new Date())}.`);
}

/** A second "Request approval" click: the request the first one sent, and where it stands. */
async function askedAlready(earlier: ApprovalRequest, respond: RespondFn): Promise<void> {
  if (earlier.state !== 'pending') await alreadyDecided(earlier, respond);
  else {
    const text = ':incoming_envelope: Already sent to the admins. You will get a message when one of them decides.';
    await respond({ replace_original: true, ...replies.notice(text) });
  }
}

export const approvals: Feature = {
  register(app: App, deps: SlackDeps) {
    const store = new ApprovalRequests(deps.db);
    const price = { creditPriceUsd: deps.config.CREDIT_PRICE_USD };

    app.action<BlockButtonAction>(ActionId.requestApproval, async ({ ack, body, respond }) => {
      await ack();
      const request = deps.pending.decode(body.actions[0]!.value ?? '');
      const command = request && parseCommand(request.text);
      if (!command || command.kind !== 'generate') {
        await respond({ replace_original: true, ...replies.notice('This button has expired. Run the /kling command again.') });
        return;
      }
      const scope = { teamId: teamOf(body), channelId: body.channel?.id ?? '', userId: body.user.id };
      // A second click on the same button asks nothing more (the create below settles a race of two).
      const earlier = request.claim && (await store.byClaim(scope.teamId, request.claim));
      if (earlier) return askedAlready(earlier, respond);
      const quote = quoteRequest(deps.catalog, command.prompt, command.flags, deps.config.DEFAULT_MODEL);
      const short = shortBudgets(await deps.ledger.usageFor(scope), quote.credits);
      if (short.workspace) {
        await respond({ replace_original: true, ...replies.notice(':no_entry: The workspace budget is short too, and approvals only cover user and channel budgets. An admin can raise it with `/kling budget set workspace …`.') });
        return;
      }
      if (!short.raisable.length) {
        await respond({ replace_original: true, ...replies.notice(':white_check_mark: This fits your budgets now: run the command again.') });
        return;
      }
      const approval = await store.create({
        ...scope,
        commandText: request.text,
        description: quote.description,
        amountMc: quote.credits,
        claimKey: request.claim,
      });
      if (!approval) return askedAlready((await store.byClaim(scope.teamId, request.claim!))!, respond);
      const ask = approvalRequest(approval, command.prompt, short.raisable, price);
      const sent = await deps.notifier.alertAdmins(scope.teamId, ask);
      // Reaching nobody keeps the button, so the requester can try again once the channel is fixed.
      await respond({ replace_original: sent.via !== 'none', ...approvalSent(sent, approval.id) });
    });

    /**
     * Common to both buttons: only admins of the request's workspace decide, and only a pending request (a second
     * click changes nothing).
     */
    async function pending(body: BlockButtonAction, respond: RespondFn): Promise<ApprovalRequest | undefined> {
      if (!(await deps.admins.isAdmin(body.user.id))) {
        await ephemeral(respond, ':lock: Thanks, but only admins can approve or deny a request over budget.');
        return undefined;
      }
      const request = await store.get(body.actions[0]!.value ?? '');
      if (!request) {
        await ephemeral(respond, 'This request is no longer known.');
        return undefined;
      }
      if (request.teamId !== teamOf(body)) {
        const text = ':lock: This request belongs to another workspace: its own admins decide it. Nothing changed.';
        await ephemeral(respond, text);
        return undefined;
      }
      if (request.state !== 'pending') {
        await alreadyDecided(request, respond);
        return undefined;
      }
      return request;
    }

    app.action<BlockButtonAction>(ActionId.approve, async ({ ack, body, respond, client }) => {
      await ack();
      const request = await pending(body, respond);
      if (!request) return;
      const adminId = body.user.id;
      const scope = scopeOf(request);
      let prompt: string;
      let amountMc: Millicredits;
      try {
        // Priced again: the figures that count are today's, not those at the time of asking.
        const command = parseCommand(request.commandText);
        if (command.kind !== 'generate') throw new UsageError('This request is not a /kling generate command.');
        prompt = command.prompt;
        amountMc = quoteRequest(deps.catalog, command.prompt, command.flags, deps.config.DEFAULT_MODEL).credits;
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        await ephemeral(respond, `This request can no longer be priced: ${error.message} Deny it, and ask for a new one.`);
        return;
      }

      const short = shortBudgets(await deps.ledger.usageFor(scope), amountMc);
      if (short.workspace) {
        await ephemeral(
          respond,
          `Not approved yet: the workspace budget has ${formatCredits(short.workspace.remainingMc)} credits left and this needs ${formatCredits(amountMc)}. Raise it with \`/kling budget set workspace …\` first, then approve.`,
        );
        return;
      }
      const raised = short.raisable.map((u) => ({ budget: u.budget, amountMc: amountMc - u.remainingMc }));
      // The decision, the raise and the queued job are one transaction (the enqueue's): a crash or a second
      // click, on any replica, can give neither no job nor two.
      let decided: ApprovalRequest | undefined;
      const claim = {
        key: `approval:${request.id}`,
        first: async (tx: Db) => {
          decided = await store.decide(request.id, 'approved', adminId, tx);
          if (decided) {
            const memo = `approved ${request.id}: ${request.description}`;
            for (const r of raised) await deps.ledger.adjust(r.budget.id, r.amountMc, adminId, memo, tx);
          }
          return decided !== undefined;
        },
      };
      const approved = { text: request.commandText, confirmed: true, skipDuplicate: true };
      const outcome = await requestVideo(approved, scope, deps, claim);
      if (!decided || outcome.claimed) {
        // Someone decided between our read and our claim (a double click): the first click answers.
        await alreadyDecided((await store.get(request.id))!, respond);
        return;
      }
      if (outcome.jobId) startJobs([outcome.jobId], deps);
      await respond({ replace_original: true, ...approvalDecided(decided, prompt, { ...price, raised, refusedAgain: !outcome.jobId }) });
      await tellRequester(decided, approvalAnswer(decided, outcome.jobId ? 'queued' : 'refused'), deps, client);
    });

    app.action<BlockButtonAction>(ActionId.deny, async ({ ack, body, respond, client }) => {
      await ack();
      const request = await pending(body, respond);
      if (!request) return;
      const decided = await store.decide(request.id, 'denied', body.user.id);
      if (!decided) {
        await alreadyDecided((await store.get(request.id))!, respond);
        return;
      }
      await respond({ replace_original: true, ...approvalDecided(decided, promptOf(request.commandText), price) });
      await tellRequester(decided, approvalAnswer(decided, 'denied'), deps, client);
    });
  },
};
