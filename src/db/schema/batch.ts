import { numeric, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * An open /kling batch modal and where its command was typed: a view submission carries no channel, so the
 * bot keeps the one Slack sent with the command, under the external_id it gave the modal (random, its own).
 */
export const batchForms = pgTable('batch_forms', {
  formId: text('form_id').primaryKey(),
  teamId: text('team_id').notNull(),
  userId: text('user_id').notNull(),
  channelId: text('channel_id').notNull(),
  /** The project tag given with the command (--tag), for every video of the batch. */
  tag: text('tag'),
  openedAt: timestamp('opened_at', { withTimezone: true }).notNull().defaultNow(),
  /**
   * The action_ts (Slack's, in seconds) of the newest change the bot has seen to the form: only the newest change
   * shows its total, so changes that overtake each other never leave an older total on screen.
   */
  changedTs: numeric('changed_ts'),
});
