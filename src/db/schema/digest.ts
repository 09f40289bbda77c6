import { date, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * One row per workspace and digest day. Inserting it is the claim: of any number of replicas, the one whose insert
 * wins posts the digest. A failed post keeps the row with last_error so a later tick can claim it again (attempts
 * counts the tries); a claimer that dies mid-post is replaced once its claim is older than the lease.
 */
export const digestRuns = pgTable(
  'digest_runs',
  {
    teamId: text('team_id').notNull(),
    /** The local calendar day the digest reports on, in the workspace's timezone. */
    digestDate: date('digest_date').notNull(),
    claimedAt: timestamp('claimed_at', { withTimezone: true }).notNull().defaultNow(),
    claimedBy: text('claimed_by').notNull(),
    postedAt: timestamp('posted_at', { withTimezone: true }),
    /** 'posted', or 'empty' when the day had no activity and nothing was posted. */
    outcome: text('outcome'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (t) => [primaryKey({ columns: [t.teamId, t.digestDate] })],
);
