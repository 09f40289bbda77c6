import type { AuditEntry } from '../../budget';
import { formatCredits } from '../../money/credits';
import { escape, truncate } from '../escape';
import { budgetName, slackDate } from './format';
import { context, message, section, type Block, type Message } from './kit';

const PER_SECTION = 15;

function line(entry: AuditEntry): string {
  const who = `<@${entry.actor}>`;
  const budget = budgetName(entry.budget);
  const change = entry.change;
  let what: string;
  if (change.kind === 'limit') {
    what = change.fromMc === null || change.toMc === null
      ? `changed ${budget}: ${escape(change.text ?? '')}`
      : `set ${budget} from ${formatCredits(change.fromMc)} to ${formatCredits(change.toMc)} credits`
        + (change.hardness ? ` (${change.hardness})` : '');
  } else {
    what = `added ${formatCredits(change.amountMc)} credits to this period of ${budget}`
      + (change.why ? ` — ${truncate(change.why, 300)}` : '');
  }
  return `${slackDate(entry.at)} · ${who} ${what}`;
}

/** `/kling audit`: the changes to limits and the adjustments of a period, newest first. */
export function auditTrail(entries: AuditEntry[], total: number, label: string): Message {
  const title = `Changes to budgets in ${label}`;
  if (!entries.length) {
    return message(title, [section(`*${title}*\nNo limit was changed and no credits were added in this period.`)]);
  }
  const blocks: Block[] = [section(`*${title}* (newest first)`)];
  for (let i = 0; i < entries.length; i += PER_SECTION) {
    blocks.push(section(entries.slice(i, i + PER_SECTION).map(line).join('\n')));
  }
  const notes = ['Recorded: limit and hardness changes while a period is open, and credits added (approvals).'];
  const hidden = total - entries.length;
  if (hidden > 0) {
    notes.unshift(`${hidden} older ${hidden === 1 ? 'change is' : 'changes are'} not shown: ask for a shorter period.`);
  }
  blocks.push(context(...notes));
  return message(title, blocks);
}
