import { bigint, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The Kling account the API key draws on (one row, id 'kling'), shared by every workspace and replica: the last
 * reading of its packs, and the admins' alert settings. Taking a reading is claimed by moving attempted_at, so
 * of any number of replicas one calls GET /account/costs, at most once a minute.
 */
export const klingAccount = pgTable('kling_account', {
  id: text('id').primaryKey(),
  /** The last claim to read the packs (successful or not). */
  attemptedAt: timestamp('attempted_at', { withTimezone: true }),
  /** When the packs below were read; null until the first reading. */
  readAt: timestamp('read_at', { withTimezone: true }),
  /** The packs as read: [{ id, name, status, total, remaining, expiresAt }] (units, ms). */
  packs: jsonb('packs'),
  /** Alert when the units run out within this many days at the current pace; null: PACK_ALERT_DAYS; 0: off. */
  runoutDays: integer('runout_days'),
  /** Alert when a pack with units left expires within this many days; null: 7; 0: off. */
  expiryDays: integer('expiry_days'),
  /** The daily reconciliation alerts on a task Kling charged this much more or less than the ledger; null: off. */
  reconcileToleranceMc: bigint('reconcile_tolerance_mc', { mode: 'number' }).default(0),
  /** The last day (UTC date) the packs' deductions were reconciled with the ledger, and by whom. */
  reconciledOn: text('reconciled_on'),
});

/**
 * One row per account alert and channel it goes to. Inserting it is the claim: one replica posts it; a claim
 * whose replica died runs out (claimed_until) and another posts it; a delivered row is never posted again.
 */
export const accountAlerts = pgTable(
  'account_alerts',
  {
    key: text('key').notNull(),
    /** The alerts channel it goes to (each workspace's, or ALERT_CHANNEL_ID): one message per channel. */
    channelId: text('channel_id').notNull(),
    claimedUntil: timestamp('claimed_until', { withTimezone: true }).notNull(),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.key, t.channelId] })],
);
