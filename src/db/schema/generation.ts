import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { Millicredits } from '../../money/credits';
import { GENERATION_STATES } from '../../generations/states';

// The states are the state machine's own list, so the enum cannot drift from it.
export const generationState = pgEnum('generation_state', GENERATION_STATES);

/** One row per generation; its id is the Kling external_task_id. Design §4, src/generations/states.ts. */
export const generations = pgTable(
  'generations',
  {
    id: text('id').primaryKey(),
    /** What people see and type ("2FC2"): unique in the workspace, set at insert by generations_short_id(). */
    shortId: text('short_id'),
    /** Arrival order: first in, first out within a person's jobs (a batch shares one created_at). */
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    teamId: text('team_id').notNull(),
    channelId: text('channel_id').notNull(),
    userId: text('user_id').notNull(),
    /** The project tag (--tag) the job was asked with, for chargeback; null without one. */
    tag: text('tag'),
    /** Kling endpoint, e.g. "text2video". */
    endpoint: text('endpoint').notNull(),
    /** The Kling request body as priced (without callback_url / external_task_id). */
    request: jsonb('request').notNull(),
    /** video-extend only: the model and mode the extension inherits from its source video (priced, not sent). */
    source: jsonb('source'),
    /** Hash of the normalized request (prompt + priced parameters + input image) for duplicate detection. */
    requestKey: text('request_key').notNull(),
    /** What the pricing catalog said it costs ("kling-v2-6 pro · 10 s · audio"). */
    description: text('description'),
    estimateMc: bigint('estimate_mc', { mode: 'number' }).$type<Millicredits>().notNull(),
    holdId: uuid('hold_id'),
    state: generationState('state').notNull().default('queued'),
    klingTaskId: text('kling_task_id'),
    /** Submissions tried (a create call, or a look-up of one whose fate is unknown). */
    attempts: integer('attempts').notNull().default(0),
    /** Off-peak jobs wait until then. */
    notBefore: timestamp('not_before', { withTimezone: true }),
    /**
     * When a worker may next act on the job: submit it, poll it, or retry. While a worker acts it pushes this
     * forward by its lease, so a worker that dies mid-call leaves a job that becomes due again by itself.
     */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    /** The worker that last claimed it; a restarted worker with the same id takes its jobs back at once. */
    leasedBy: text('leased_by'),
    /** When a worker last went to Kling about the task (its create, or a status query). */
    askedAt: timestamp('asked_at', { withTimezone: true }),
    /** When a Kling callback last brought news of the task: it is queried again, at most once per short gap. */
    calledBackAt: timestamp('called_back_at', { withTimezone: true }),
    /** The job card in Slack. */
    cardChannelId: text('card_channel_id'),
    cardTs: text('card_ts'),
    /**
     * The replica posting the card or the result reply, until when. Taken before the post, so one replica
     * posts; a claim left by a replica that died means the post may have landed, so the next one looks first.
     */
    cardClaimedBy: text('card_claimed_by'),
    cardClaimedUntil: timestamp('card_claimed_until', { withTimezone: true }),
    /** The state the card last showed: a card behind its job is re-rendered by any replica. */
    cardState: generationState('card_state'),
    /** The place in the queue the card last showed (while queued): it is refreshed only when the place moved. */
    cardPlace: integer('card_place'),
    /** When the video (or the failure to return one) was posted in the card's thread. */
    resultPostedAt: timestamp('result_posted_at', { withTimezone: true }),
    batchId: text('batch_id'),
    /**
     * The single-use key of what queued it (a command's trigger_id, a button's nonce, an approval), on the
     * first job it queued: a replayed command or a second click finds it and queues nothing.
     */
    claimKey: text('claim_key'),
    /** The finished job a card button asked to follow up (re-roll, extend, upgrade), and which of them. */
    parentId: text('parent_id'),
    followUp: text('follow_up'),
    result: jsonb('result'),
    errorCode: integer('error_code'),
    errorMessage: text('error_message'),
    actualMc: bigint('actual_mc', { mode: 'number' }).$type<Millicredits>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** When it was last handed to Kling; also the round-robin "last served" of its user. */
    submittedAt: timestamp('submitted_at', { withTimezone: true }),
    /** Set once when the task ran past the timeout, so the alert fires once across replicas. */
    stuckAt: timestamp('stuck_at', { withTimezone: true }),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('generations_due_queued').on(t.teamId, t.nextAttemptAt).where(sql`${t.state} = 'queued'`),
    index('generations_due_active')
      .on(t.nextAttemptAt)
      .where(sql`${t.state} in ('submitting','submitted','processing')`),
    index('generations_in_flight')
      .on(t.teamId, t.userId)
      .where(sql`${t.state} in ('submitting','submitted','processing')`),
    index('generations_user').on(t.teamId, t.userId, t.createdAt),
    // What the card sweeper looks for: a job whose card, its latest state or its result reply is missing.
    index('generations_card_due')
      .on(t.seq)
      .where(sql`${t.state} <> 'refused' and (${t.cardTs} is null
      or ${t.cardState} is distinct from ${t.state} or (${t.state} = 'succeeded' and ${t.resultPostedAt} is null))`),
    uniqueIndex('generations_claim').on(t.teamId, t.claimKey),
    uniqueIndex('generations_short_id').on(t.teamId, t.shortId),
    index('generations_request_key').on(t.teamId, t.requestKey, t.endedAt).where(sql`${t.state} = 'succeeded'`),
  ],
);
