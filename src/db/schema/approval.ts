import { bigint, index, jsonb, pgEnum, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import type { FollowUpKind } from '../../generations/types';
import type { Millicredits } from '../../money/credits';

export const approvalState = pgEnum('approval_state', ['pending', 'approved', 'denied']);

/**
 * A request over a user or channel budget, sent to the admins. The row is the claim:
 * only the first admin to decide moves it out of `pending`, so a second click changes nothing.
 */
export const approvals = pgTable(
  'approvals',
  {
    id: text('id').primaryKey(),
    teamId: text('team_id').notNull(),
    channelId: text('channel_id').notNull(),
    userId: text('user_id').notNull(),
    /**
     * The `/kling generate …` or `/kling image …` text as Slack sent it; an approval runs it again. For a job
     * card's follow-up, "<kind> <job id>" (for people: `followUp` is what counts).
     */
    commandText: text('command_text').notNull(),
    /** A job card's Re-roll, Extend or Upgrade: the job it follows; an approval prices it from that job again. */
    followUp: jsonb('follow_up').$type<{ of: string; kind: FollowUpKind }>(),
    /** What the catalog said when it was asked ("kling-v2-6 pro · 10 s · audio") and its price. */
    description: text('description').notNull(),
    amountMc: bigint('amount_mc', { mode: 'number' }).$type<Millicredits>().notNull(),
    state: approvalState('state').notNull().default('pending'),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull().defaultNow(),
    decidedBy: text('decided_by'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
    /** The nonce of the "Request a raise" button that asked: a second click sends nothing more. */
    claimKey: text('claim_key'),
  },
  (t) => [
    index('approvals_team_requested').on(t.teamId, t.requestedAt),
    uniqueIndex('approvals_claim').on(t.teamId, t.claimKey),
  ],
);
