import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { WebAPIPlatformError } from '@slack/web-api';
import { formatCredits, formatUsd } from '../../money/credits';
import * as replies from '../blocks/replies';
import type { Feature } from '../deps';
import { escape } from '../escape';
import { shareFile } from '../uploads';

/**
 * `/kling export`: the file goes to the person's DM. Admins get the workspace's jobs and, in a second file,
 * the period's audit trail; anyone else only their own jobs. The CSV is written to a temporary file first, so its
 * length is known for the upload and memory stays
 * flat however many jobs the period has.
 */
export const exportFile: Feature = {
  commands: {
    async export(ctx, deps) {
      const { teamId, userId } = ctx.scope;
      const admin = await deps.admins.isAdmin(userId);
      const whose = admin ? "the workspace's" : 'your';
      await ctx.ack(replies.notice(`Preparing ${whose} export; it will arrive in a direct message from me.`));
      const { period, by, format } = ctx.command;
      const file = await deps.exporter.export({ teamId, ...(admin ? {} : { userId }), period, by, format });
      const dir = await mkdtemp(join(tmpdir(), 'kling-export-'));
      try {
        const path = join(dir, file.fileName);
        await pipeline(file.stream, createWriteStream(path));
        const totals = await file.totals;
        const { channel } = await ctx.client.conversations.open({ users: userId });
        const jobs = `${totals.jobs.toLocaleString('en-US')} ${totals.jobs === 1 ? 'job' : 'jobs'}`;
        const usd = formatUsd(totals.chargedMc, deps.config.CREDIT_PRICE_USD);
        const comment =
          `${admin ? "The workspace's" : 'Your'} spending for ${file.label}: ${jobs}, ` +
          `${formatCredits(totals.chargedMc)} credits charged (${usd}). ` +
          'Charged is the actual cost of finished jobs plus what is still held for running ones.';
        await shareFile(ctx.client, { path, filename: file.fileName, channelId: channel!.id!, comment });
        // Admins get the period's audit trail beside it, as a file of its own (its columns are not a job's).
        const audit = admin ? await deps.exporter.auditFile(teamId, period) : undefined;
        if (audit?.changes) {
          const auditPath = join(dir, audit.fileName);
          await pipeline(audit.stream, createWriteStream(auditPath));
          const changes = `${audit.changes} ${audit.changes === 1 ? 'change' : 'changes'}`;
          const what = `${changes} to budgets and rules in ${file.label}`;
          const shared = { path: auditPath, filename: audit.fileName, channelId: channel!.id!, comment: what };
          await shareFile(ctx.client, shared);
        }
      } catch (error) {
        if (!(error instanceof WebAPIPlatformError)) throw error;
        deps.logger.warn({ err: error, scope: ctx.scope }, 'the export could not be delivered');
        const sorry =
          `:warning: The export could not be delivered: Slack answered \`${escape(error.data.error)}\`. ` +
          'Nothing changed; try again later.';
        await ctx.respond({ response_type: 'ephemeral', replace_original: true, ...replies.notice(sorry) });
        return;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const done = `:white_check_mark: \`${escape(file.fileName)}\` is in your direct messages.`;
      await ctx.respond({ response_type: 'ephemeral', replace_original: true, ...replies.notice(done) });
    },
  },
};
