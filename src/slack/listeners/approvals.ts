import type { App, BlockButtonAction, RespondFn, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { BudgetRef } from '../../budget';
import { isoDate } from '../../budget/periods';
import type { Clock } from '../../clock';
import { formatCredits, MILLI, type Millicredits } from '../../money/credits';
import type { ApprovalRequest, ApproveOutcome, RaiseProblem } from '../../requests';
import {
  approvalAnswer,
  approvalDecided,
  approvalRequest,
  approvalSent,
  raiseModal,
  type RaiseMetadata,
} from '../blocks/approvals';
import { budgetName, slackDate } from '../blocks/format';
import type { Message } from '../blocks/kit';
import * as replies from '../blocks/replies';
import { parseCommand, UsageError } from '../commands/parse';
import { RaiseField, readRaiseForm } from '../commands/raise-form';
import type { Feature, SlackDeps } from '../deps';
import { deliver } from '../delivery';
import { ActionId } from '../ids';
import { quoteOf } from '../video-request';
import { teamOf } from './payload';

/**
 * Approvals: "Request a raise" on a refusal by a user or channel budget posts the request to the admins
 * (alerts channel, else their DMs) with Approve this request, Raise… and Deny. Raise… opens a modal for +N
 * credits until a date. Only an admin decides; the requester hears the outcome in a DM. The rules (once per
 * button, once per request, what an approval or a raise gives) are the use cases'.
 */

/** Why a workspace or tag budget stops a request, which neither an approval nor a raise covers. */
function unraisable(budget: BudgetRef, remainingMc?: Millicredits, amountMc?: Millicredits): string {
  const figures =
    remainingMc === undefined || amountMc === undefined
      ? ''
      : ` It has ${formatCredits(remainingMc)} credits left and this needs ${formatCredits(amountMc)}.`;
  const how =
    budget.scope === 'tag'
      ? `\`/kling budget set tag:${budget.scopeId} ${budget.period} <credits>\``
      : '`/kling budget set workspace …`';
  return `:no_entry: ${budgetName(budget)} is short too, and approvals and raises only cover a person's or a channel's budget.${figures} An admin can raise it with ${how}.`;
}

/** Why a raise is refused, as the form says it: the field it belongs under, in plain text (no mentions or code). */
function raiseRefusal(problem: RaiseProblem | Extract<ApproveOutcome, { kind: 'unraisable' }>): [string, string] {
  switch (problem.kind) {
    case 'raise-too-small':
      return [
        RaiseField.amount,
        `At least ${Math.ceil(problem.lacksMc / MILLI)}: this video lacks ${formatCredits(problem.lacksMc)} credits.`,
      ];
    case 'raise-ends-too-soon':
      return [RaiseField.until, `Pick today (${isoDate(problem.first)}) or a later day.`];
    case 'raise-ends-too-late':
      return [RaiseField.until, `A raise lasts at most until ${isoDate(problem.last)}; for longer, set a new limit.`];
    case 'unraisable': {
      const what =
        problem.budget.scope === 'tag' ? `The tag ${problem.budget.scopeId}'s budget` : 'The workspace budget';
      return [
        RaiseField.amount,
        `${what} is short too, and a raise only covers a person's or a channel's budget: set a new limit first.`,
      ];
    }
  }
}

function promptOf(commandText: string): string {
  try {
    const command = parseCommand(commandText);
    return command.kind === 'generate' || command.kind === 'image' ? command.prompt : '';
  } catch {
    return '';
  }
}

/**
 * Prices an approval's request as its command (or its card's follow-up) would be priced now, with its tag and the
 * job it follows; a mistake in it is a UsageError.
 */
async function priceOf(request: ApprovalRequest, deps: SlackDeps, images: 'fetch' | 'as-given' = 'fetch') {
  const pending = { text: request.commandText, ...(request.followUp && { followUp: request.followUp }) };
  const { quote, tag, parent } = await quoteOf(pending, request.teamId, deps, images);
  return { quote, tag, parent };
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

const unpriceable = (error: UsageError) =>
  `This request can no longer be priced: ${error.message} Deny it, and ask for a new one.`;

/** The Raise… modal's private_metadata; undefined when it is not the bot's. */
function readMetadata(metadata: string | undefined): RaiseMetadata | undefined {
  try {
    const read = JSON.parse(metadata || '{}') as Partial<RaiseMetadata>;
    const ok = [read.approvalId, read.channel, read.ts].every((v) => typeof v === 'string' && v);
    return ok ? (read as RaiseMetadata) : undefined;
  } catch {
    return undefined;
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
      const scope = { teamId: teamOf(body), channelId: body.channel?.id ?? '', userId: body.user.id };
      let priced: Awaited<ReturnType<typeof quoteOf>> | undefined;
      try {
        priced = request && (await quoteOf(request, scope.teamId, deps));
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
      }
      if (!request || !priced) {
        await respond({
          replace_original: true,
          ...replies.notice('This button has expired. Run the /kling command again.'),
        });
        return;
      }
      const { followUp } = request;
      const asked = await deps.requests.askApproval(scope, {
        // A follow-up is priced from its job again; its text is for people (and the audit trail).
        commandText: followUp ? `${followUp.kind} ${followUp.of}` : request.text,
        ...(followUp && { followUp }),
        quote: priced.quote,
        tag: priced.tag,
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
        case 'unraisable':
          await respond({ replace_original: true, ...replies.notice(unraisable(asked.budget)) });
          return;
        case 'fits':
          await respond({
            replace_original: true,
            ...replies.notice(':white_check_mark: This fits your budgets now: run the command again.'),
          });
          return;
        case 'sent': {
          const ask = approvalRequest(asked.approval, promptOf(request.text), asked.raisable, price);
          const sent = await deps.notifier.alertAdmins(scope.teamId, ask);
          // Reaching nobody keeps the button, so the requester can try again once the channel is fixed.
          await respond({ replace_original: sent.via !== 'none', ...approvalSent(sent, asked.approval.id) });
        }
      }
    });

    app.action<BlockButtonAction>(ActionId.approve, async ({ ack, body, respond, client }) => {
      await ack();
      if (!(await requireAdmin(body.user.id, respond, deps))) return;
      let outcome: ApproveOutcome | RaiseProblem;
      try {
        outcome = await deps.requests.approve(decision(body), (request) => priceOf(request, deps));
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        await ephemeral(respond, unpriceable(error));
        return;
      }
      if (outcome.kind === 'unraisable') {
        const why = unraisable(outcome.budget, outcome.remainingMc, outcome.amountMc);
        await ephemeral(respond, `Not approved yet: ${why} Then approve.`);
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

    // Raise…: the modal proposes at least what the video lacks, until the short budgets' period ends.
    app.action<BlockButtonAction>(ActionId.raise, async ({ ack, body, respond, client }) => {
      await ack();
      if (!(await requireAdmin(body.user.id, respond, deps))) return;
      let form: Awaited<ReturnType<typeof deps.requests.raiseForm>>;
      try {
        // No image is fetched: the modal must open within the click's 3 s, and the price does not depend on it.
        form = await deps.requests.raiseForm(decision(body), (request) => priceOf(request, deps, 'as-given'));
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        await ephemeral(respond, unpriceable(error));
        return;
      }
      if (form.kind === 'unraisable')
        return ephemeral(respond, unraisable(form.budget, form.remainingMc, form.amountMc));
      if (form.kind === 'fits') {
        return ephemeral(
          respond,
          'This request fits its budgets now: *Approve this request* queues it, no raise needed.',
        );
      }
      if (form.kind !== 'raise') return undecided(form, respond, deps.now);
      const where = { approvalId: form.request.id, channel: body.channel?.id ?? '', ts: body.message?.ts ?? '' };
      await client.views.open({ trigger_id: body.trigger_id, view: raiseModal(form, where) });
    });

    app.view<ViewSubmitAction>(ActionId.raiseSubmit, async ({ ack, body, view, client }) => {
      const refuse = (field: string, text: string) => ack({ response_action: 'errors', errors: { [field]: text } });
      const adminId = body.user.id;
      if (!(await deps.admins.isAdmin(adminId))) return refuse(RaiseField.amount, 'Only admins can raise a budget.');
      // The metadata only says which request and where its message is (Slack returns it as the bot set it); the
      // admin, the request's workspace and state, and the figures are all checked again here. The message's place
      // is used only to show the decision in it.
      const where = readMetadata(view.private_metadata);
      if (!where) return refuse(RaiseField.amount, 'This form could not be read. Close it and press Raise… again.');
      const read = readRaiseForm(view.state?.values ?? {});
      if ('errors' in read) return ack({ response_action: 'errors', errors: read.errors as Record<string, string> });
      const asked = { approvalId: where.approvalId, teamId: teamOf(body), adminId };
      // What refuses the form is said in it, checked without fetching images; the approval itself (an image
      // fetched, the hold) may outlast Slack's 3 s, so it runs once the form is closed.
      let problem: Awaited<ReturnType<typeof deps.requests.checkRaise>>;
      try {
        problem = await deps.requests.checkRaise(asked, (request) => priceOf(request, deps, 'as-given'), read);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        return refuse(RaiseField.amount, unpriceable(error));
      }
      if (problem) return refuse(...raiseRefusal(problem));
      await ack();
      const tell = (text: string) =>
        client.chat.postEphemeral({ channel: where.channel, user: adminId, ...replies.notice(text) }).catch((error) => {
          deps.logger.warn({ err: error, approvalId: where.approvalId }, 'raise: the admin could not be told');
        });
      let outcome: ApproveOutcome | RaiseProblem;
      try {
        outcome = await deps.requests.approve(asked, (request) => priceOf(request, deps), read);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        await tell(`Nothing was raised: ${unpriceable(error)}`);
        return;
      }
      switch (outcome.kind) {
        case 'approved':
          break;
        case 'decided-already': {
          const { decidedBy, state, decidedAt } = outcome.request;
          const when = slackDate(decidedAt ?? deps.now());
          await tell(`<@${decidedBy}> already ${state} this request ${when}. Nothing more was raised.`);
          return;
        }
        case 'unknown':
        case 'other-workspace':
          await tell('This request is no longer known here. Nothing was raised.');
          return;
        default:
          // The figures moved between the check and the approval: rare, and said as the form would have.
          await tell(`Nothing was raised: ${raiseRefusal(outcome)[1]}`);
          return;
      }
      const { request, raised, queued } = outcome;
      const shown = approvalDecided(request, promptOf(request.commandText), {
        ...price,
        raised,
        refusedAgain: !queued,
      });
      await client.chat.update({ channel: where.channel, ts: where.ts, ...shown }).catch((error) => {
        deps.logger.warn({ err: error, approvalId: request.id }, "raise: the admins' message could not be updated");
      });
      await tellRequester(request, approvalAnswer(request, queued ? 'queued' : 'refused', raised), deps, client);
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
