import type { Ledger } from '../budget';
import { systemClock, type Clock } from '../clock';
import type { Db } from '../db';
import type { KlingClient } from '../kling';
import type { Logger } from '../log';
import { creditsToMc, mc, subMc, sumMc, type Millicredits } from '../money/credits';
import { drawDown } from './draw-down';
import * as store from './store';
import type { AccountAlert, AccountSettings, AccountStatus, PackView } from './types';

const DAY_MS = 24 * 3600 * 1000;
const SETTLING_MS = 3600 * 1000;

export interface KlingAccountOptions {
  now?: Clock;
  logger?: Logger;
  /** PACK_ALERT_DAYS: alert when the units run out within this many days (an admin may change it). */
  runoutDays?: number;
  /** Alert when a pack with units left expires within this many days (default 7). */
  expiryDays?: number;
  /** The pace is what was committed over this many days (default 7). */
  paceDays?: number;
  /** Kling is asked at most this often across replicas (default 60 s). */
  readEveryMs?: number;
  /** How far back a daily reconciliation looks at Kling's deductions (default 2 days: a day, and a day's lag). */
  reconcileWindowMs?: number;
}

/**
 * The Kling account the API key draws on: its packs, how long they last at the current pace, and whether Kling
 * charged what the ledger committed. Shared by all workspaces and replicas through the kling_account row.
 */
export class KlingAccount {
  private readonly now: Clock;

  constructor(
    private readonly db: Db,
    private readonly ledger: Pick<Ledger, 'committedBetween'>,
    private readonly kling: Pick<KlingClient, 'accountCosts' | 'billingPackage'>,
    private readonly options: KlingAccountOptions = {},
  ) {
    this.now = options.now ?? systemClock;
  }

  /** Reads the packs from Kling when no replica did within the last minute; a failure is logged and kept for later. */
  async refresh(): Promise<void> {
    const now = this.now();
    if (!(await store.claimReading(this.db, now, this.options.readEveryMs ?? 60_000))) return;
    try {
      const packs = await this.kling.accountCosts({ startTime: now.getTime() - 365 * DAY_MS, endTime: now.getTime() });
      await store.saveReading(this.db, packs, now);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'Kling account packs could not be read; the last reading stays');
    }
  }

  async settings(): Promise<AccountSettings> {
    return settingsOf(await store.account(this.db), this.options);
  }

  /** days 0 switches the alert off. */
  async setAlertDays(kind: 'runout' | 'expiry', days: number): Promise<void> {
    if (!Number.isInteger(days) || days < 0 || days > 365)
      throw new RangeError(`${days} is not a number of days between 0 and 365`);
    await store.saveSettings(this.db, kind === 'runout' ? { runoutDays: days } : { expiryDays: days });
  }

  /** null switches the reconciliation's alerts off (and the daily call to Kling with them). */
  async setReconcileTolerance(toleranceMc: Millicredits | null): Promise<void> {
    if (toleranceMc !== null && !(Number.isSafeInteger(toleranceMc) && toleranceMc >= 0)) {
      throw new RangeError(`${toleranceMc} is not a whole, non-negative number of millicredits`);
    }
    await store.saveSettings(this.db, { reconcileToleranceMc: toleranceMc });
  }

  /** The packs as last read, less what the ledger committed since; the pace and when the units run out. */
  async status(): Promise<AccountStatus> {
    const now = this.now();
    const row = await store.account(this.db);
    const settings = settingsOf(row, this.options);
    const paceDays = this.options.paceDays ?? 7;
    const paceFrom = new Date(now.getTime() - paceDays * DAY_MS);
    const readAt = row?.readAt ? new Date(row.readAt) : null;
    const [since, recent] = await Promise.all([
      readAt ? this.ledger.committedBetween(readAt, now) : { mc: mc(0) },
      this.ledger.committedBetween(paceFrom, now),
    ]);
    // Spending only counts from the first commit, and over at least a day, so a new bot's first job is no pace.
    const spanMs = recent.firstAt ? Math.max(DAY_MS, now.getTime() - recent.firstAt.getTime()) : paceDays * DAY_MS;
    const paceMcPerDay = (recent.mc * DAY_MS) / spanMs;

    const stored = (typeof row?.packs === 'string' ? JSON.parse(row.packs) : (row?.packs ?? [])) as store.StoredPack[];
    // Kling draws on the pack that expires first (an assumption: the order is not documented).
    let owed = since.mc;
    const packs = stored
      .map(
        (p): PackView => ({
          id: p.id,
          name: p.name,
          status: p.status,
          totalMc: creditsToMc(p.total),
          readMc: creditsToMc(p.remaining),
          remainingMc: creditsToMc(p.remaining),
          expiresAt: new Date(p.expiresAt),
        }),
      )
      .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime());
    for (const pack of packs) {
      if (!isOnline(pack, now)) continue;
      const taken = mc(Math.min(owed, pack.remainingMc));
      pack.remainingMc = subMc(pack.remainingMc, taken);
      owed = subMc(owed, taken);
    }
    const online = packs.filter((p) => isOnline(p, now));
    const remainingMc = sumMc(online.map((p) => p.remainingMc));
    const { runsOutAt, expiresUnused } = drawDown(online, now, paceMcPerDay);
    return { readAt, packs, committedSinceMc: since.mc, remainingMc, paceMcPerDay, runsOutAt, expiresUnused, settings };
  }

  /** The pack alerts this status calls for, each with the key it is posted once under. */
  alerts(status: AccountStatus): AccountAlert[] {
    const now = this.now().getTime();
    const { runoutDays, expiryDays } = status.settings;
    const alerts: AccountAlert[] = [];
    const online = status.packs.filter((p) => isOnline(p, this.now()));
    if (
      runoutDays > 0 &&
      online.length &&
      status.runsOutAt &&
      status.runsOutAt.getTime() - now <= runoutDays * DAY_MS
    ) {
      // Once per set of packs: buying another one makes a new set, which may need its own warning.
      const key = `runout:${online
        .map((p) => p.id)
        .sort()
        .join(',')}`;
      alerts.push({
        kind: 'runout',
        key,
        remainingMc: status.remainingMc,
        paceMcPerDay: status.paceMcPerDay,
        runsOutAt: status.runsOutAt,
        days: runoutDays,
      });
    }
    if (expiryDays > 0) {
      for (const pack of online) {
        if (pack.remainingMc > 0 && pack.expiresAt.getTime() - now <= expiryDays * DAY_MS) {
          alerts.push({ kind: 'expiry', key: `expiry:${pack.id}`, pack, days: expiryDays });
        }
      }
    }
    return alerts;
  }

  /**
   * Once a day across replicas: Kling's per-task deductions of the last days against the ledger. A task Kling
   * charged that the ledger does not know, or charged differently, is an alert (once per task).
   */
  async reconcile(): Promise<AccountAlert[]> {
    const now = this.now();
    const day = now.toISOString().slice(0, 10);
    const { reconcileToleranceMc: tolerance } = await this.settings();
    if (tolerance === null) return [];
    // A failed day is not tried again: tomorrow's window covers it too.
    if (!(await store.claimReconciliation(this.db, day))) return [];
    // Deductions of the last hour are left for tomorrow: the bot may not have settled those tasks yet.
    const endTime = now.getTime() - SETTLING_MS;
    const deductions = await this.kling.billingPackage({
      startTime: endTime - (this.options.reconcileWindowMs ?? 2 * DAY_MS),
      endTime,
    });
    const charged = new Map<string, Millicredits>();
    for (const d of deductions) charged.set(d.taskId, mc((charged.get(d.taskId) ?? 0) + creditsToMc(d.units)));
    const known = new Map((await store.settledTasks(this.db, [...charged.keys()])).map((t) => [t.taskId, t.actualMc]));
    const alerts: AccountAlert[] = [];
    for (const [taskId, chargedMc] of charged) {
      const ledgerMc = known.has(taskId) ? (known.get(taskId) ?? null) : null;
      if (ledgerMc !== null && Math.abs(ledgerMc - chargedMc) <= tolerance) continue;
      alerts.push({ kind: 'reconcile', key: `reconcile:${taskId}:${chargedMc}`, taskId, chargedMc, ledgerMc });
    }
    return alerts;
  }

  /** The channels account alerts go to: each workspace's alerts channel, else `fallback` (ALERT_CHANNEL_ID). */
  alertChannels(fallback?: string): Promise<string[]> {
    return store.alertChannels(this.db, fallback);
  }

  claimAlert(alert: AccountAlert, channelId: string, leaseMs: number): Promise<boolean> {
    return store.claimAlert(this.db, alert.key, channelId, this.now(), leaseMs);
  }

  markAlertDelivered(alert: AccountAlert, channelId: string): Promise<void> {
    return store.markAlertDelivered(this.db, alert.key, channelId, this.now());
  }
}

function isOnline(pack: PackView, now: Date): boolean {
  return pack.status !== 'expired' && pack.status !== 'toBeOnline' && pack.expiresAt > now;
}

function settingsOf(row: store.AccountRow | undefined, options: KlingAccountOptions): AccountSettings {
  return {
    runoutDays: row?.runoutDays ?? options.runoutDays ?? 3,
    expiryDays: row?.expiryDays ?? options.expiryDays ?? 7,
    // A row not written yet has the column's default: alert on any difference.
    reconcileToleranceMc: row ? row.reconcileToleranceMc : mc(0),
  };
}
