import type { AuditEntry, AuditSubject } from '../../budget';
import { formatCredits, mc } from '../../money/credits';
import { escape, truncate } from '../escape';
import { budgetName, slackDate } from './format';
import { context, message, section, type Block, type Message } from './kit';

const PER_SECTION = 15;

const SETTING_NAMES: Partial<Record<AuditSubject, string>> = {
  'confirm-threshold': 'the confirmation threshold',
  'alerts-channel': 'the alerts channel',
  'forecast-alerts': 'forecast alerts',
  'spike-alerts': 'spike alerts',
  'spike-factor': 'the spike factor',
  'spike-minimum': 'the spike minimum',
  timezone: 'the timezone',
};

/** A stored value as the admin reads it: credits for amounts, #channel for a channel id, on/off, percents. */
function shown(subject: AuditSubject, value: unknown): string {
  if (value === null || value === undefined) return 'none';
  switch (subject) {
    case 'limit':
    case 'confirm-threshold':
    case 'spike-minimum':
    case 'adjustment':
      return `${formatCredits(mc(Number(value)))} credits`;
    case 'alerts-channel':
      return `<#${escape(String(value))}>`;
    case 'thresholds':
      return (value as number[]).map((t) => `${t}%`).join(', ');
    case 'hardness':
      return value ? 'hard' : 'soft';
    case 'forecast-alerts':
    case 'spike-alerts':
      return value ? 'on' : 'off';
    default:
      return escape(String(value));
  }
}

function line(entry: AuditEntry): string {
  const { subject } = entry;
  const budget = entry.budget ? budgetName(entry.budget) : 'a budget';
  let what: string;
  if (subject === 'adjustment') what = `added ${shown(subject, entry.newValue)} to this period of ${budget}`;
  else if (subject === 'raise') {
    const raised = entry.newValue as { limitMc: number; amountMc: number; endsAt: string };
    const limit = (v: number) => `${formatCredits(mc(Number(v)))} credits`;
    what =
      `raised ${budget} by ${limit(raised.amountMc)} until ${slackDate(new Date(raised.endsAt))} ` +
      `(from ${limit(Number(entry.oldValue))} to ${limit(raised.limitMc)})`;
  } else if (subject === 'approval' || subject === 'denial') {
    what = `${subject === 'approval' ? 'approved' : 'denied'} \`${escape(truncate(String(entry.newValue), 200))}\``;
  } else {
    const change = `from ${shown(subject, entry.oldValue)} to ${shown(subject, entry.newValue)}`;
    if (subject === 'limit') {
      const created = entry.oldValue === null;
      what = created ? `created ${budget} at ${shown(subject, entry.newValue)}` : `set ${budget} ${change}`;
    } else what = `changed ${SETTING_NAMES[subject] ?? `${budget}'s ${subject}`} ${change}`;
  }
  const why = entry.why ? ` — _${escape(truncate(entry.why, 300))}_` : '';
  return `${slackDate(entry.at)} · <@${entry.actor}> ${what}${why}`;
}

/** `/kling audit`: the changes to limits and the adjustments of a period, newest first. */
export function auditTrail(entries: AuditEntry[], total: number, label: string): Message {
  const title = `Changes to budgets and rules in ${label}`;
  if (!entries.length) {
    return message(title, [section(`*${title}*\nNothing that moves money or rules was changed in this period.`)]);
  }
  const blocks: Block[] = [section(`*${title}* (newest first)`)];
  for (let i = 0; i < entries.length; i += PER_SECTION) {
    blocks.push(
      section(
        entries
          .slice(i, i + PER_SECTION)
          .map(line)
          .join('\n'),
      ),
    );
  }
  const notes = [
    'Recorded: limits, hardness, thresholds, the confirmation threshold, alert settings, the timezone, ' +
      'approvals, denials, credits added and raises.',
  ];
  const hidden = total - entries.length;
  if (hidden > 0) {
    notes.unshift(`${hidden} older ${hidden === 1 ? 'change is' : 'changes are'} not shown: ask for a shorter period.`);
  }
  blocks.push(context(...notes));
  return message(title, blocks);
}
