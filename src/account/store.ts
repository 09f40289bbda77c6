// The account's SQL layer: its own tables, and the settled generations a reconciliation compares with.
import { rows, sql, type Db } from '../db';

const ID = 'kling';
const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export interface StoredPack {
  id: string;
  name: string;
  status: string;
  total: number;
  remaining: number;
  expiresAt: number;
}

export interface AccountRow {
  readAt: string | null;
  packs: StoredPack[] | string | null;
  runoutDays: number | null;
  expiryDays: number | null;
  reconcileToleranceMc: number | null;
}

export async function account(db: Db): Promise<AccountRow | undefined> {
  const [row] = await rows<AccountRow>(
    db,
    sql`
    select read_at as "readAt", packs, runout_days as "runoutDays", expiry_days as "expiryDays",
           reconcile_tolerance_mc as "reconcileToleranceMc"
    from kling_account where id = ${ID}`,
  );
  return row;
}

async function ensure(db: Db): Promise<void> {
  await db.execute(sql`insert into kling_account (id) values (${ID}) on conflict (id) do nothing`);
}

/** True for one caller across replicas when the last attempt to read is at least `minAgeMs` old. */
export async function claimReading(db: Db, now: Date, minAgeMs: number): Promise<boolean> {
  await ensure(db);
  const claimed = await rows(
    db,
    sql`
    update kling_account set attempted_at = ${ts(now)}
    where id = ${ID} and (attempted_at is null or attempted_at <= ${ts(new Date(now.getTime() - minAgeMs))})
    returning 1`,
  );
  return claimed.length === 1;
}

export async function saveReading(db: Db, packs: StoredPack[], readAt: Date): Promise<void> {
  await db.execute(
    sql`update kling_account set packs = ${JSON.stringify(packs)}::jsonb, read_at = ${ts(readAt)} where id = ${ID}`,
  );
}

/** Only the settings given change; reconcileToleranceMc null switches the reconciliation's alerts off. */
export async function saveSettings(
  db: Db,
  settings: { runoutDays?: number; expiryDays?: number; reconcileToleranceMc?: number | null },
): Promise<void> {
  await ensure(db);
  const sets = [];
  if (settings.runoutDays !== undefined) sets.push(sql`runout_days = ${settings.runoutDays}`);
  if (settings.expiryDays !== undefined) sets.push(sql`expiry_days = ${settings.expiryDays}`);
  if (settings.reconcileToleranceMc !== undefined)
    sets.push(sql`reconcile_tolerance_mc = ${settings.reconcileToleranceMc}`);
  if (!sets.length) return;
  await db.execute(sql`update kling_account set ${sql.join(sets, sql`, `)} where id = ${ID}`);
}

/** True for one caller across replicas per day (`day` as YYYY-MM-DD). */
export async function claimReconciliation(db: Db, day: string): Promise<boolean> {
  await ensure(db);
  const claimed = await rows(
    db,
    sql`
    update kling_account set reconciled_on = ${day}
    where id = ${ID} and (reconciled_on is null or reconciled_on < ${day}) returning 1`,
  );
  return claimed.length === 1;
}

/** What the ledger committed for these Kling tasks (a task the bot never settled is absent). */
export function settledTasks(db: Db, taskIds: string[]): Promise<{ taskId: string; actualMc: number | null }[]> {
  if (!taskIds.length) return Promise.resolve([]);
  return rows(
    db,
    sql`select kling_task_id as "taskId", actual_mc as "actualMc" from generations
    where kling_task_id in ${taskIds}`,
  );
}

/** Every alerts channel the account's alerts go to: each workspace's own, else the fallback. */
export async function alertChannels(db: Db, fallback?: string): Promise<string[]> {
  const found = await rows<{ channelId: string | null }>(
    db,
    sql`select alerts_channel_id as "channelId" from workspaces`,
  );
  const channels = found.map((w) => w.channelId ?? fallback).filter((c): c is string => Boolean(c));
  return [...new Set(channels.length || !fallback ? channels : [fallback])];
}

/** Claims an alert for one channel for `leaseMs`: true for one caller across replicas until it is delivered. */
export async function claimAlert(db: Db, key: string, channelId: string, now: Date, leaseMs: number): Promise<boolean> {
  const until = new Date(now.getTime() + leaseMs);
  const claimed = await rows(
    db,
    sql`
    insert into account_alerts (key, channel_id, claimed_until, created_at)
    values (${key}, ${channelId}, ${ts(until)}, ${ts(now)})
    on conflict (key, channel_id) do update set claimed_until = excluded.claimed_until
    where account_alerts.delivered_at is null and account_alerts.claimed_until < ${ts(now)}
    returning 1`,
  );
  return claimed.length === 1;
}

export async function markAlertDelivered(db: Db, key: string, channelId: string, now: Date): Promise<void> {
  await db.execute(
    sql`update account_alerts set delivered_at = ${ts(now)} where key = ${key} and channel_id = ${channelId}`,
  );
}
