import type { AccountAlert, AccountStatus, PackView } from '../../account';
import { formatCredits, mc } from '../../money/credits';
import { USAGE } from '../commands/parse';
import { escape } from '../escape';
import { context, message, section, type Block, type Message } from './kit';
import { slackDate } from './format';

/** The Kling account's packs for admins (/kling account, App Home) and its alerts. */

const PACKS_SHOWN = 5;
/** An amount or a rate in millicredits (a pace per day need not be whole), to the nearest millicredit. */
const units = (amount: number) => `${formatCredits(mc(Math.max(0, Math.round(amount))))} units`;

function alertSetting(days: number, what: string): string {
  return days > 0 ? `${what} within ${days} day${days === 1 ? '' : 's'}` : `${what}: off`;
}

function reconcileSetting(toleranceMc: number | null): string {
  if (toleranceMc === null) return "Kling's charges against the ledger: off";
  return toleranceMc
    ? `a task charged more than ${units(toleranceMc)} off the ledger`
    : 'a task charged differently from the ledger';
}

export function accountBlocks(status: AccountStatus): Block[] {
  if (!status.readAt) return [section('The Kling account has not been read yet: its packs show here within a minute.')];
  // Packs in use first, soonest to expire first; the tab and the message stay within Slack's block limits.
  const live = (p: PackView) => (p.status === 'online' ? 0 : 1);
  const packs = [...status.packs].sort((a, b) => live(a) - live(b) || a.expiresAt.getTime() - b.expiresAt.getTime());
  const blocks: Block[] = packs
    .slice(0, PACKS_SHOWN)
    .map((p) =>
      section(
        `*${escape(p.name)}* (${escape(p.status)})\n` +
          `${units(p.remainingMc)} left of ${units(p.totalMc)} · expires ${slackDate(p.expiresAt)}`,
      ),
    );
  if (!blocks.length) blocks.push(section('Kling reports no resource packs on this account.'));
  if (packs.length > PACKS_SHOWN)
    blocks.push(context(`…and ${packs.length - PACKS_SHOWN} more packs, expired or used up.`));
  const pace =
    status.paceMcPerDay > 0
      ? `${units(status.paceMcPerDay)} a day at the current pace` +
        (status.runsOutAt ? `, running out about ${slackDate(status.runsOutAt)}` : '')
      : 'no spending in the last days';
  // Units that expire before this pace reaches them are money lost: said beside the packs, not only in an alert.
  for (const { pack, amountMc } of status.expiresUnused.slice(0, PACKS_SHOWN)) {
    blocks.push(
      context(
        `:hourglass: At this pace about ${units(amountMc)} of *${escape(pack.name)}* expire unused ${slackDate(pack.expiresAt)}.`,
      ),
    );
  }
  blocks.push(
    context(
      `Read from Kling ${slackDate(status.readAt)} (Kling's figure lags by up to 12 hours); ` +
        `${units(status.committedSinceMc)} committed since then are taken off. ${pace}.`,
    ),
    context(
      `Alerts: ${alertSetting(status.settings.runoutDays, 'units run out')} · ` +
        `${alertSetting(status.settings.expiryDays, 'a pack expires with units left')} · ` +
        `${reconcileSetting(status.settings.reconcileToleranceMc)} ` +
        `(\`${escape(USAGE.accountAlerts)}\` · \`${escape(USAGE.accountReconcile)}\`)`,
    ),
  );
  return blocks;
}

export function accountStatus(status: AccountStatus): Message {
  return message('The Kling account', [section('*The Kling account*'), ...accountBlocks(status)]);
}

export function accountAlert(alert: AccountAlert): Message {
  switch (alert.kind) {
    case 'runout':
      return message('The Kling units are running out', [
        section(
          `:fuelpump: *The Kling units run out about ${slackDate(alert.runsOutAt)}* at the current pace: ` +
            `${units(alert.remainingMc)} left, ${units(alert.paceMcPerDay)} a day.`,
        ),
        context(
          `Warned ${alert.days} days ahead. Top up the Kling resource pack before then, or new videos are refused. ` +
            '`/kling account` shows the packs.',
        ),
      ]);
    case 'expiry':
      return message('A Kling pack expires with units left', [
        section(
          `:hourglass: *${escape(alert.pack.name)} expires ${slackDate(alert.pack.expiresAt)}* ` +
            `with ${units(alert.pack.remainingMc)} left: ` +
            'Kling forfeits unused units at expiry.',
        ),
        context(`Warned ${alert.days} days ahead. \`/kling account\` shows the packs.`),
      ]);
    case 'reconcile':
      return message('Kling charged a task differently from the ledger', [
        section(
          `:mag: *Kling charged task \`${escape(alert.taskId)}\` ${units(alert.chargedMc)}*, ` +
            (alert.ledgerMc === null
              ? 'and the ledger has no such job.'
              : `where the ledger committed ${units(alert.ledgerMc)}.`),
        ),
        context("From Kling's per-task deductions (POST /account/billing/package), checked once a day."),
      ]);
  }
}
