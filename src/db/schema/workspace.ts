import { bigint, boolean, pgTable, real, text, timestamp } from 'drizzle-orm/pg-core';
import type { Millicredits } from '../../money/credits';

/** One row per Slack team (workspace): its timezone, alerts channel and queue state. */
export const workspaces = pgTable('workspaces', {
  teamId: text('team_id').primaryKey(),
  timezone: text('timezone').notNull(),
  /**
   * A timezone an admin chose, applied at timezoneEffectiveAt (the next boundary of the workspace's longest
   * budget period), so the current periods keep their start and no counter is split.
   */
  pendingTimezone: text('pending_timezone'),
  timezoneEffectiveAt: timestamp('timezone_effective_at', { withTimezone: true }),
  alertsChannelId: text('alerts_channel_id'),
  /** Requests priced above this ask the person to confirm with a button first; null = never. */
  confirmThresholdMc: bigint('confirm_threshold_mc', { mode: 'number' }).$type<Millicredits>(),
  /** Set when Kling refuses the account (1100/1101/1102): the queue holds its jobs until resumed. */
  queuePausedAt: timestamp('queue_paused_at', { withTimezone: true }),
  queuePauseReason: text('queue_pause_reason'),
  /** Forecast alerts: a budget expected to run out before its period ends. */
  forecastAlerts: boolean('forecast_alerts').notNull().default(true),
  /** Spike alerts; the factor and minimum are SPIKE_FACTOR and SPIKE_MIN_CREDITS unless an admin set them. */
  spikeAlerts: boolean('spike_alerts').notNull().default(true),
  spikeFactor: real('spike_factor'),
  spikeMinMc: bigint('spike_min_mc', { mode: 'number' }).$type<Millicredits>(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
