import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { workspaces } from '../db/schema/workspace';

export const budgetScope = pgEnum('budget_scope', ['workspace', 'channel', 'user', 'tag']);
export const budgetPeriod = pgEnum('budget_period', ['day', 'week', 'month']);
export const holdStatus = pgEnum('hold_status', ['open', 'committed', 'released']);
export const entryKind = pgEnum('ledger_entry_kind', ['reserve', 'commit', 'release', 'adjust', 'limit']);
export const alertKind = pgEnum('budget_alert_kind', ['threshold', 'exhausted', 'forecast', 'overrun']);

/** A budget: scope × period × limit. Amounts are millicredits (see src/money/credits.ts). */
export const budgets = pgTable(
  'budgets',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    teamId: text('team_id')
      .notNull()
      .references(() => workspaces.teamId),
    scope: budgetScope('scope').notNull(),
    /** team id for a workspace budget, channel id, user id, or the project tag's name. */
    scopeId: text('scope_id').notNull(),
    period: budgetPeriod('period').notNull(),
    limitMc: bigint('limit_mc', { mode: 'number' }).notNull(),
    /** Alert thresholds in percent of the limit. */
    thresholds: integer('thresholds').array().notNull().default(sql`'{80,100}'::integer[]`),
    /** Hard budgets refuse; soft budgets only alert. */
    hard: boolean('hard').notNull().default(true),
    updatedBy: text('updated_by'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique('budgets_scope_period').on(t.teamId, t.scope, t.scopeId, t.period),
    check('budgets_limit_nonnegative', sql`${t.limitMc} >= 0`),
  ],
);

/**
 * Usage of one budget in one period, keyed by the period's start in the workspace timezone.
 * `chargedMc` = committed + held; the limit check reads only this row.
 */
export const budgetPeriods = pgTable(
  'budget_periods',
  {
    budgetId: bigint('budget_id', { mode: 'number' })
      .notNull()
      .references(() => budgets.id),
    periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
    periodEnd: timestamp('period_end', { withTimezone: true }).notNull(),
    /** The budget's limit while this period is current; frozen when it closes. */
    limitMc: bigint('limit_mc', { mode: 'number' }).notNull(),
    hard: boolean('hard').notNull(),
    /** Admin adjustments (approvals) that raise this period's room. */
    allowanceMc: bigint('allowance_mc', { mode: 'number' }).notNull().default(0),
    chargedMc: bigint('charged_mc', { mode: 'number' }).notNull().default(0),
    closedAt: timestamp('closed_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.budgetId, t.periodStart] })],
);

/**
 * A temporary raise: +amount on a person's or channel's budget, in every period, for reservations made in
 * [starts_at, ends_at). It ends by itself: the reservation's check reads the raises active at its own time, so
 * nothing sweeps them. Append-only (a raise is history, like the ledger's entries).
 */
export const budgetRaises = pgTable(
  'budget_raises',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    teamId: text('team_id').notNull(),
    budgetId: bigint('budget_id', { mode: 'number' })
      .notNull()
      .references(() => budgets.id),
    amountMc: bigint('amount_mc', { mode: 'number' }).notNull(),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    grantedBy: text('granted_by').notNull(),
    /** The approval it answered, if any. */
    approvalId: text('approval_id'),
    reason: text('reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('budget_raises_budget').on(t.budgetId, t.endsAt),
    check('budget_raises_amount_positive', sql`${t.amountMc} > 0`),
    check('budget_raises_span', sql`${t.endsAt} > ${t.startsAt}`),
  ],
);

/** Credits held for a request until it is committed (actual cost) or released. */
export const holds = pgTable(
  'holds',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    teamId: text('team_id').notNull(),
    userId: text('user_id').notNull(),
    channelId: text('channel_id'),
    /** The project tag the request carried (--tag), if any: its tag budget applies too. */
    tag: text('tag'),
    generationId: text('generation_id'),
    amountMc: bigint('amount_mc', { mode: 'number' }).notNull(),
    status: holdStatus('status').notNull().default('open'),
    actualMc: bigint('actual_mc', { mode: 'number' }),
    reason: text('reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    settledAt: timestamp('settled_at', { withTimezone: true }),
  },
  // No index on status (settling a hold stays a HOT update) nor on generation_id (generations.hold_id is the
  // link that is looked up): a reservation writes as few index entries as it can.
);

/**
 * Append-only: one row per budget touched by each reserve, commit, release and adjustment, and one per
 * change an admin makes to a current period's limit or hardness ('limit': who, from what to what).
 */
export const ledgerEntries = pgTable(
  'ledger_entries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    teamId: text('team_id').notNull(),
    budgetId: bigint('budget_id', { mode: 'number' }).notNull(),
    periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
    holdId: uuid('hold_id'),
    kind: entryKind('kind').notNull(),
    /**
     * The operation's amount: the estimate held, the actual committed, the amount released or adjusted; for
     * 'limit', the room the period honoured until the change (its limit, or what it had charged while soft).
     */
    amountMc: bigint('amount_mc', { mode: 'number' }).notNull(),
    /** Its effect on budget_periods.charged_mc. */
    chargedDeltaMc: bigint('charged_delta_mc', { mode: 'number' }).notNull(),
    /** Its effect on budget_periods.allowance_mc. */
    allowanceDeltaMc: bigint('allowance_delta_mc', { mode: 'number' }).notNull().default(0),
    actor: text('actor').notNull(),
    memo: text('memo'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('ledger_entries_period').on(t.budgetId, t.periodStart), index('ledger_entries_hold').on(t.holdId)],
);

/** The columns of an alert outbox (budget_alerts, spike_alerts): claimed before it is posted, then delivered. */
const outbox = () => ({
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /** Taken by the replica about to post it, so one alert is one message; a dead replica's claim runs out. */
  claimedUntil: timestamp('claimed_until', { withTimezone: true }),
  /** Set once the Slack layer has posted it; undelivered alerts are retried. */
  deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  /** Where it was posted: the alerts channel, or the admins (user ids) it was sent to by DM instead. */
  deliveredTo: text('delivered_to').array(),
});

/**
 * Threshold, exhausted, forecast and overrun alerts: the primary key makes each one happen once per budget,
 * period, kind and threshold (0 for all but threshold alerts).
 */
export const budgetAlerts = pgTable(
  'budget_alerts',
  {
    budgetId: bigint('budget_id', { mode: 'number' }).notNull(),
    periodStart: timestamp('period_start', { withTimezone: true }).notNull(),
    kind: alertKind('kind').notNull(),
    /** Percent for a threshold alert; 0 for exhausted and overrun. */
    threshold: integer('threshold').notNull(),
    teamId: text('team_id').notNull(),
    triggeredBy: text('triggered_by').notNull(),
    chargedMc: bigint('charged_mc', { mode: 'number' }).notNull(),
    limitMc: bigint('limit_mc', { mode: 'number' }).notNull(),
    /** A forecast's expected run-out time, projection and biggest spenders; null for the other kinds. */
    detail: jsonb('detail'),
    /** Overrun: the jobs of the period Kling charged above their hold, when the alert was claimed. */
    generationIds: text('generation_ids').array().notNull().default(sql`'{}'::text[]`),
    ...outbox(),
  },
  (t) => [
    primaryKey({ columns: [t.budgetId, t.periodStart, t.kind, t.threshold] }),
    index('budget_alerts_undelivered').on(t.teamId).where(sql`${t.deliveredAt} is null`),
  ],
);

/**
 * Spike alerts: a person's or a channel's spending today far above their usual day. The primary key makes
 * each one happen once per subject and local day; delivered like budget_alerts.
 */
export const spikeAlerts = pgTable(
  'spike_alerts',
  {
    teamId: text('team_id').notNull(),
    /** 'user' or 'channel'. */
    subjectKind: text('subject_kind').notNull(),
    subjectId: text('subject_id').notNull(),
    /** The local day in the workspace's timezone. */
    day: date('day', { mode: 'string' }).notNull(),
    todayMc: bigint('today_mc', { mode: 'number' }).notNull(),
    /** The median of the 14 days before. */
    medianMc: bigint('median_mc', { mode: 'number' }).notNull(),
    /** What drove it: the model, mode and duration mix and the re-runs of one prompt. */
    detail: jsonb('detail').notNull(),
    ...outbox(),
  },
  (t) => [
    primaryKey({ columns: [t.teamId, t.subjectKind, t.subjectId, t.day] }),
    index('spike_alerts_undelivered').on(t.teamId).where(sql`${t.deliveredAt} is null`),
  ],
);

/**
 * The audit trail: every change that moves money or rules (limits, hardness, thresholds, the confirmation
 * threshold, the alerts channel and settings, the timezone, adjustments, approvals and denials), written in
 * the same transaction as the change. Append-only, like the ledger's entries.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    teamId: text('team_id').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    /** The Slack user who made the change ('default' for the bot's own configuration). */
    actor: text('actor').notNull(),
    /** What changed: see AuditSubject in src/budget/audit.ts. */
    subject: text('subject').notNull(),
    /** The budget it changed, if any. */
    budgetId: bigint('budget_id', { mode: 'number' }),
    oldValue: jsonb('old_value'),
    newValue: jsonb('new_value'),
    /** The command as typed, or the approval it came from. */
    why: text('why'),
  },
  (t) => [index('audit_events_team_at').on(t.teamId, t.at)],
);
