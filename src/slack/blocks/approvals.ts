import type { BudgetRef, Usage } from '../../budget';
import { isoDate } from '../../budget/periods';
import { formatCredits, MILLI, type Millicredits } from '../../money/credits';
import { lacking, RAISE_MAX_DAYS, type ApprovalRequest, type RaiseForm } from '../../requests';
import type { AdminAlertDelivery } from '../notifier';
import { RaiseField } from '../commands/raise-form';
import { escape, truncate } from '../escape';
import { ActionId } from '../ids';
import { actions, button, context, message, section, type Block, type Message } from './kit';
import { input, modal, type View } from './form';
import { lineage } from './job-card';
import { budgetName, credits, slackDate } from './format';

/** Approvals: the request the admins see, the same message once decided, and what the requester is told. */

export interface PriceContext {
  creditPriceUsd: number;
}

/** A budget an approval raises, and by how much: what the request lacks, for this period, or a raise until `endsAt`. */
export interface Raise {
  budget: Pick<BudgetRef, 'scope' | 'scopeId' | 'period'>;
  amountMc: Millicredits;
  endsAt?: Date;
}

function raisedLine(r: Raise): string {
  return r.endsAt
    ? `${budgetName(r.budget)} raised by ${formatCredits(r.amountMc)} credits until ${slackDate(r.endsAt)}.`
    : `${budgetName(r.budget)} raised by ${formatCredits(r.amountMc)} for this period.`;
}

function about(request: ApprovalRequest, prompt: string, options: PriceContext): Block[] {
  const blocks: Block[] = [
    section(
      `:raised_hand: <@${request.userId}> asks to go over budget in <#${request.channelId}>: *${escape(request.description)}*, ${credits(request.amountMc, options.creditPriceUsd)}.`,
    ),
  ];
  if (prompt) blocks.push(section(`>${truncate(prompt, 1500).replace(/\n/g, '\n>')}`));
  if (request.followUp) blocks.push(context(lineage(request.followUp.kind, request.followUp.of)));
  return blocks;
}

/** To the admins: what is asked, which budgets lack room and by how much, and Approve this request, Raise… and Deny. */
export function approvalRequest(
  request: ApprovalRequest,
  prompt: string,
  short: Usage[],
  options: PriceContext,
): Message {
  const lines = short.map(
    (u) =>
      `• ${budgetName(u.budget)}: ${formatCredits(u.remainingMc)} of ${formatCredits(u.limitMc)} left, short by *${formatCredits(lacking(u, request.amountMc))}*`,
  );
  return message(`A video needs approval: ${formatCredits(request.amountMc)} credits`, [
    ...about(request, prompt, options),
    ...(lines.length ? [section(lines.join('\n'))] : []),
    actions(
      button('Approve this request', ActionId.approve, request.id, {
        style: 'primary',
        confirm: {
          title: 'Approve this video?',
          text: 'The budgets above are raised by what it lacks, for this period only, and the video is queued.',
          confirm: 'Approve',
          deny: 'Not yet',
        },
      }),
      button('Raise…', ActionId.raise, request.id),
      button('Deny', ActionId.deny, request.id, { style: 'danger' }),
    ),
    context(
      'Only admins can decide. *Approve this request* raises those budgets by what this video lacks, for this period only. ' +
        '*Raise…* gives them more credits in every period until a date you pick. Either way the video is queued.',
    ),
  ]);
}

/** Where the admins' message is, so the modal's submission can show the decision in it. */
export interface RaiseMetadata {
  approvalId: string;
  channel: string;
  ts: string;
}

/**
 * The admins' Raise… modal: how many credits (at least what the video lacks, in whole credits) each short
 * budget gets in every period, and the last day of the raise.
 */
export function raiseModal(form: Extract<RaiseForm, { kind: 'raise' }>, metadata: RaiseMetadata): View {
  const { request, raisable, lacksMc } = form;
  const least = String(Math.ceil(lacksMc / MILLI));
  const budgets = raisable.map(
    (u) =>
      `• ${budgetName(u.budget)}: ${formatCredits(u.remainingMc)} of ${formatCredits(u.limitMc)} left, short by ${formatCredits(lacking(u, request.amountMc))}`,
  );
  return modal({
    callbackId: ActionId.raiseSubmit,
    title: 'Raise budgets',
    submit: 'Raise and queue',
    metadata,
    blocks: [
      section(
        `<@${request.userId}> asks for *${escape(request.description)}* (${formatCredits(request.amountMc)} credits). Each of these budgets gets the raise:\n${budgets.join('\n')}`,
      ),
      input(
        RaiseField.amount,
        'Credits to add to each budget, in every period',
        { type: 'number_input', is_decimal_allowed: false, initial_value: least },
        { hint: `At least ${least}: what this video lacks.` },
      ),
      input(
        RaiseField.until,
        'Last day of the raise',
        { type: 'datepicker', initial_date: isoDate(form.until) },
        {
          hint: `Through the end of that day in the workspace's timezone; at most ${RAISE_MAX_DAYS} days ahead (${isoDate(form.last)}).`,
        },
      ),
      context(
        'The raise ends by itself at its date; what was spent under it stays spent. The video is queued at once.',
      ),
    ],
  });
}

/** The admins' message once someone decided: who, when, and what it did. No buttons left. */
export function approvalDecided(
  request: ApprovalRequest,
  prompt: string,
  options: PriceContext & { raised?: Raise[]; refusedAgain?: boolean },
): Message {
  const who = `<@${request.decidedBy ?? 'unknown'}>`;
  const when = request.decidedAt ? ` ${slackDate(request.decidedAt)}` : '';
  const lines = [
    request.state === 'approved'
      ? `:white_check_mark: *Approved* by ${who}${when}.`
      : `:no_entry_sign: *Denied* by ${who}${when}.`,
    ...(options.raised ?? []).map(raisedLine),
  ];
  if (options.refusedAgain)
    lines.push(
      ':warning: When it was reserved, a budget had no room left again (someone spent in between); the requester was told.',
    );
  const verdict = request.state === 'approved' ? 'Approved' : 'Denied';
  return message(`${verdict}: a video over budget (${formatCredits(request.amountMc)} credits)`, [
    ...about(request, prompt, options),
    context(lines.join('\n')),
  ]);
}

/** To the requester, in a DM; `raised`: the raises granted with the approval, if any. */
export function approvalAnswer(
  request: ApprovalRequest,
  outcome: 'queued' | 'refused' | 'denied',
  raised: Raise[] = [],
): Message {
  const what = `*${escape(request.description)}* (${formatCredits(request.amountMc)} credits)`;
  const raises = raised.filter((r) => r.endsAt).map((r) => `\n• ${raisedLine(r)}`);
  const text = {
    queued: `:white_check_mark: <@${request.decidedBy}> approved ${what}. It is queued; the job card is in <#${request.channelId}>.`,
    refused: `:warning: <@${request.decidedBy}> approved ${what}, but by the time it was reserved a budget had no room left again. Run the command again, or ask once more.`,
    denied: `:no_entry_sign: <@${request.decidedBy}> declined ${what}. Nothing was spent; \`/kling budget\` shows what you have left.`,
  }[outcome];
  const blocks = [section(text + (raises.length ? `\nYour budgets were raised:${raises.join('')}` : ''))];
  return message(outcome === 'denied' ? 'Your request was declined' : 'Your request was approved', blocks);
}

/** To the requester, once the request is out: where it went, or that no admin could be reached (it is kept). */
export function approvalSent(delivery: AdminAlertDelivery, requestId: string): Message {
  const unreachable = delivery.via === 'channel' ? undefined : delivery.unreachableChannel;
  const channel = unreachable && `<#${unreachable}>`;
  const decides = 'You will get a message when one of them decides.';
  const text =
    delivery.via === 'channel'
      ? `:incoming_envelope: Sent to the admins in <#${delivery.channel}>. ${decides}`
      : delivery.via === 'dm'
        ? `:incoming_envelope: Sent to the admins by DM${channel ? ` because ${channel} is unreachable` : ''}. ` +
          decides
        : `:warning: Could not reach any admin: ${channel ? `${channel} is unreachable and ` : ''}` +
          'no admin could get a DM. ' +
          `Your request \`${requestId}\` is kept: ask an admin, or press Request a raise again later.`;
  return message(text, [section(text)]);
}
