import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const generationState = pgEnum('generation_state', [
  'queued', 'submitting', 'submitted', 'processing', 'succeeded', 'failed', 'cancelled', 'refused',
]);

/** One row per generation; its id is the Kling external_task_id. Design §4. */
export const generations = pgTable(
  'generations',
  {
    id: text('id').primaryKey(),
    teamId: text('team_id').notNull(),
    channelId: text('channel_id').notNull(),
    userId: text('user_id').notNull(),
    /** Kling endpoint, e.g. "text2video". */
    endpoint: text('endpoint').notNull(),
    /** The Kling request body as sent (without callback_url / external_task_id). */
    request: jsonb('request').notNull(),
    /** Normalized request (prompt + priced parameters + image) for duplicate detection. */
    requestKey: text('request_key').notNull(),
    estimateMc: bigint('estimate_mc', { mode: 'number' }).notNull(),
    holdId: uuid('hold_id'),
    state: generationState('state').notNull().default('queued'),
    klingTaskId: text('kling_task_id'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    /** The job card in Slack. */
    cardChannelId: text('card_channel_id'),
    cardTs: text('card_ts'),
    batchId: text('batch_id'),
    result: jsonb('result'),
    errorCode: integer('error_code'),
    errorMessage: text('error_message'),
    actualMc: bigint('actual_mc', { mode: 'number' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    submittedAt: timestamp('submitted_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('generations_runnable').on(t.teamId, t.nextAttemptAt).where(sql`${t.state} in ('queued','submitting','submitted','processing')`),
    index('generations_user').on(t.teamId, t.userId, t.createdAt),
    index('generations_request_key').on(t.teamId, t.requestKey),
  ],
);
