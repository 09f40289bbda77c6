import type { LedgerEvent, SpikeAlert } from '../../budget';
import type { Generation } from '../../generations';
import { formatCredits, subMc } from '../../money/credits';
import { escape, truncate } from '../escape';
import { ActionId } from '../ids';
import { USAGE } from '../commands/parse';
import { button, context, message, section, type Message } from './kit';
import { aboutTime, budgetName, credits, slackDate } from './format';

/** Messages for the alerts channel and the admins. */

/**
 * The alerts one request raised, as one message: a refusal that touched three budgets reads as one story,
 * not as three posts.
 */
export function budgetAlerts(events: LedgerEvent[], options: { creditPriceUsd: number }): Message {
  const parts = events.map((e) => alertPart(e, options));
  const notes = [...new Set(parts.map((p) => p.note))];
  return message(parts.map((p) => p.text).join('; '), [
    ...parts.map((p) => section(p.section)),
    context(notes.join(' ')),
  ]);
}

interface AlertPart {
  text: string;
  section: string;
  note: string;
}

function alertPart(event: LedgerEvent, options: { creditPriceUsd: number }): AlertPart {
  const name = budgetName(event.budget);
  const since = `in the period that started ${slackDate(event.periodStart)}`;
  const figures = `${credits(event.chargedMc, options.creditPriceUsd)} of ${formatCredits(event.limitMc)} used or held ${since}`;
  const raise = `An admin can raise it with \`${escape(USAGE.budgetSet)}\`.`;
  if (event.kind === 'forecast') {
    const spenders = event.spenders.map((s) => `<@${escape(s.userId)}> ${formatCredits(s.chargedMc)}`).join(', ');
    const when = slackDate(event.runsOutAt, aboutTime(event.budget.period));
    return {
      text: `At this pace ${stripMentions(name)} runs out before its period ends`,
      section: `:crystal_ball: *At this pace ${name} runs out ${when}*, before its period ends: ${figures}.`,
      note: `Biggest spenders this period: ${spenders || 'nobody yet'}. ${raise}`,
    };
  }
  if (event.kind === 'threshold') {
    return {
      text: `${stripMentions(name)} reached ${event.threshold}%`,
      section: `:warning: *${name} reached ${event.threshold}%*: ${figures}.`,
      note: `Triggered by <@${escape(event.triggeredBy)}>.`,
    };
  }
  if (event.kind === 'overrun') {
    const jobs = event.jobIds
      .slice(0, 20)
      .map((id) => `\`${escape(id)}\``)
      .join(', ');
    const more = event.jobIds.length > 20 ? ` and ${event.jobIds.length - 20} more` : '';
    return {
      text: `${stripMentions(name)} went over its limit: Kling charged more than the estimates`,
      section:
        `:money_with_wings: *${name} went over its limit*: ${figures}. ` +
        `Kling charged more than the estimate held for ${jobs}${more}; each fitted the budget when it was queued.`,
      note: 'Check the Kling price catalog against what Kling charges. Said once per budget and period.',
    };
  }
  const request = `a ${formatCredits(event.needMc)}-credit request`;
  const note = `Refused for <@${escape(event.triggeredBy)}>. ${raise}`;
  // "Exhausted" only when nothing is left: a refusal with room to spare says what it refused and what is left.
  if (event.chargedMc >= event.limitMc) {
    return {
      text: `${stripMentions(name)} is exhausted`,
      section:
        `:octagonal_sign: *${name} is exhausted*: ${figures}. It refused ${request}; ` +
        'requests are refused until the period ends.',
      note,
    };
  }
  const left = `${formatCredits(subMc(event.limitMc, event.chargedMc))} of ${formatCredits(event.limitMc)}`;
  return {
    text: `${stripMentions(name)} refused ${request}: ${left} left`,
    section: `:no_entry: *${name} refused ${request}*: ${left} credits left ${since}.`,
    note,
  };
}

export function spikeAlert(spike: SpikeAlert, options: { creditPriceUsd: number }): Message {
  const who = spike.subject.kind === 'user' ? `<@${escape(spike.subject.id)}>` : `<#${escape(spike.subject.id)}>`;
  const usual =
    spike.medianMc > 0
      ? `${Math.round((spike.todayMc / spike.medianMc) * 10) / 10}× a usual day ` +
        `(the median of the 14 days before is ${formatCredits(spike.medianMc)})`
      : 'on a usual day of nothing (the median of the 14 days before is 0)';
  const mix = spike.drivers.mix.slice(0, 5).map((m) => {
    const kind = [m.model, m.mode, m.durationS ? `${m.durationS} s` : undefined].filter(Boolean).join(' · ');
    return `• ${escape(kind)}: ${m.videos} video${m.videos === 1 ? '' : 's'}, ${formatCredits(m.spentMc)} credits`;
  });
  const { reruns: count } = spike.drivers;
  const reruns = count
    ? `${count} re-run${count === 1 ? '' : 's'} of the same prompt`
    : 'no re-runs of the same prompt';
  return message(`${stripMentions(who)} spent ${formatCredits(spike.todayMc)} credits today, well above a usual day`, [
    section(
      `:chart_with_upwards_trend: *${who} spent ${credits(spike.todayMc, options.creditPriceUsd)} today*, ` +
        `${usual}.`,
    ),
    section(`*What drove it*\n${mix.length ? mix.join('\n') : '• no videos recorded'}\n${reruns}.`),
    context(
      `Alerts above ${spike.factor}× a usual day, once a day. ` +
        `An admin can change it with \`${escape(USAGE.budgetSpikes)}\`.`,
    ),
  ]);
}

export function queuePaused(reason: string, code: number, teamId: string): Message {
  return message('Kling paused the video queue', [
    section(
      `:double_vertical_bar: *Kling refused new work* (code ${code}): ${truncate(reason, 1000)}\nQueued videos keep their held credits and wait. Top up or renew the Kling resource pack, then resume.`,
      button('Resume the queue', ActionId.resumeQueue, teamId, { style: 'primary' }),
    ),
  ]);
}

export function queueResumed(): Message {
  return message('The video queue is running again', [section(':arrow_forward: The video queue is running again.')]);
}

export function klingAuthProblem(text: string): Message {
  return message("Kling rejected the bot's credentials", [
    section(
      `:key: *Kling rejected the bot's credentials*: ${truncate(text, 1000)}\nCheck KLING_API_KEY (or KLING_ACCESS_KEY and KLING_SECRET_KEY) and restart the bot. Jobs that failed for this reason returned their credits.`,
    ),
  ]);
}

export function stuckJob(job: Generation, minutes: number): Message {
  return message('A video is taking unusually long', [
    section(
      `:hourglass: Job \`${escape(job.id)}\` for <@${job.userId}> has been at Kling for ${minutes} minutes (state ${job.state}). Its credits stay held until Kling answers.`,
    ),
  ]);
}

/** What an admin can do about an alerts channel Slack refuses, by Slack's error. */
const CHANNEL_FIXES: Record<string, string> = {
  not_in_channel: 'invite the bot there',
  is_archived: 'unarchive it',
  channel_not_found: 'invite the bot there if it is private',
  restricted_action: 'let the bot post there',
};

/**
 * An alert sent to an admin by DM because the alerts channel could not take it: the alert, then why it came by
 * DM and how to bring alerts back to the channel. `unreachable` is the channel and Slack's error; without it the
 * workspace has no alerts channel.
 */
export function alertByDm(alert: Message, unreachable?: { channel: string; error: string }): Message {
  const change = `\`${escape(USAGE.budgetAlerts)}\``;
  const why = unreachable
    ? `the alerts channel <#${escape(unreachable.channel)}> could not be reached: ${escape(unreachable.error)}; ` +
      `${CHANNEL_FIXES[unreachable.error] ?? 'check it'}, or change it with ${change}.`
    : `this workspace has no alerts channel: set one with ${change}.`;
  return message(alert.text, [
    ...alert.blocks.slice(0, 49),
    context(`:incoming_envelope: Sent to you by DM because ${why}`),
  ]);
}

/** Notification text is plain: a mention there would render as its raw id. */
function stripMentions(text: string): string {
  return text.replace(/<[#@]([A-Z0-9]+)>/g, '$1');
}
