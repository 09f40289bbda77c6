import type { BudgetRef, Usage } from '../../budget';
import { formatCredits, subMc, type Millicredits } from '../../money/credits';
import type { ApprovalRequest } from '../../requests';
import type { AdminAlertDelivery } from '../notifier';
import { escape, truncate } from '../escape';
import { ActionId } from '../ids';
import { actions, button, context, message, section, type Block, type Message } from './kit';
import { budgetName, credits, slackDate } from './format';

/** Approvals: the request the admins see, the same message once decided, and what the requester is told. */

export interface PriceContext {
  creditPriceUsd: number;
}

/** A budget an approval raises, and by how much (what the request lacks in it). */
export interface Raise {
  budget: Pick<BudgetRef, 'scope' | 'scopeId' | 'period'>;
  amountMc: Millicredits;
}

function about(request: ApprovalRequest, prompt: string, options: PriceContext): Block[] {
  const blocks: Block[] = [
    section(
      `:raised_hand: <@${request.userId}> asks to go over budget in <#${request.channelId}>: *${escape(request.description)}*, ${credits(request.amountMc, options.creditPriceUsd)}.`,
    ),
  ];
  if (prompt) blocks.push(section(`>${truncate(prompt, 1500).replace(/\n/g, '\n>')}`));
  return blocks;
}

/** To the admins: what is asked, which budgets lack room and by how much, and the two buttons. */
export function approvalRequest(
  request: ApprovalRequest,
  prompt: string,
  short: Usage[],
  options: PriceContext,
): Message {
  const lines = short.map(
    (u) =>
      `• ${budgetName(u.budget)}: ${formatCredits(u.remainingMc)} of ${formatCredits(u.limitMc)} left, short by *${formatCredits(subMc(request.amountMc, u.remainingMc))}*`,
  );
  return message(`A video needs approval: ${formatCredits(request.amountMc)} credits`, [
    ...about(request, prompt, options),
    ...(lines.length ? [section(lines.join('\n'))] : []),
    actions(
      button('Approve', ActionId.approve, request.id, {
        style: 'primary',
        confirm: {
          title: 'Approve this video?',
          text: 'The budgets above are raised by what it lacks, for this period only, and the video is queued.',
          confirm: 'Approve',
          deny: 'Not yet',
        },
      }),
      button('Deny', ActionId.deny, request.id, { style: 'danger' }),
    ),
    context(
      'Only admins can decide. Approving raises those budgets by what this video lacks, for this period only, and queues it.',
    ),
  ]);
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
    ...(options.raised ?? []).map(
      (r) => `${budgetName(r.budget)} raised by ${formatCredits(r.amountMc)} for this period.`,
    ),
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

/** To the requester, in a DM. */
export function approvalAnswer(request: ApprovalRequest, outcome: 'queued' | 'refused' | 'denied'): Message {
  const what = `*${escape(request.description)}* (${formatCredits(request.amountMc)} credits)`;
  const text = {
    queued: `:white_check_mark: <@${request.decidedBy}> approved ${what}. It is queued; the job card is in <#${request.channelId}>.`,
    refused: `:warning: <@${request.decidedBy}> approved ${what}, but by the time it was reserved a budget had no room left again. Run the command again, or ask once more.`,
    denied: `:no_entry_sign: <@${request.decidedBy}> declined ${what}. Nothing was spent; \`/kling budget\` shows what you have left.`,
  }[outcome];
  return message(outcome === 'denied' ? 'Your request was declined' : 'Your request was approved', [section(text)]);
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
          `Your request \`${requestId}\` is kept: ask an admin, or press Request approval again later.`;
  return message(text, [section(text)]);
}
