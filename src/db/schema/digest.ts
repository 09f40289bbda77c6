import { date, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** A digest is claimed by inserting its row before posting, so one replica posts it once. */
export const digestRuns = pgTable(
  'digest_runs',
  {
    teamId: text('team_id').notNull(),
    digestDate: date('digest_date').notNull(),
    claimedAt: timestamp('claimed_at', { withTimezone: true }).notNull().defaultNow(),
    claimedBy: text('claimed_by').notNull(),
    postedAt: timestamp('posted_at', { withTimezone: true }),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.digestDate] })],
);
