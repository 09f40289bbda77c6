import { randomUUID } from 'node:crypto';
import type { App, ViewSubmitAction } from '@slack/bolt';
import { BatchForms } from '../batch-forms';
import { batchModal, batchQueued, batchRefused, batchTooExpensive } from '../blocks/batch';
import * as replies from '../blocks/replies';
import { BatchField, checkBatch, offPeakStart, quoteBatch, readBatchForm, type FormErrors } from '../commands/batch';
import type { Feature, SlackDeps } from '../deps';
import { ActionId } from '../ids';
import { startJobs } from './generate';
import { teamOf } from './payload';

/**
 * `/kling batch`: a modal for many prompts with shared settings. On submit every prompt is priced and
 * the total is checked against every hard budget before anything is held; then the whole batch is held
 * and queued in one transaction (all or nothing), and each video gets its job card.
 */

const BATCH_LIMIT = 20;

/** A batch never asks for more than a person may have waiting. */
const maxPrompts = (deps: SlackDeps) => Math.min(BATCH_LIMIT, deps.config.MAX_QUEUED_PER_USER);

/** Every length some text-to-video model offers; the catalog refuses a length the chosen model lacks. */
function durations(deps: SlackDeps): number[] {
  const all = deps.catalog.models('text2video').flatMap((m) => deps.catalog.capabilities(m).durations);
  return [...new Set(all)].sort((a, b) => a - b);
}

export const batch: Feature = {
  commands: {
    async batch(ctx, deps) {
      await deps.workspaces.settings(ctx.scope.teamId);
      const { timezone } = await deps.ledger.ensureWorkspace(ctx.scope.teamId);
      const formId = `batch_${randomUUID()}`;
      const view = batchModal({
        formId,
        models: deps.catalog.models('text2video'),
        defaultModel: deps.config.DEFAULT_MODEL,
        durations: durations(deps),
        maxPrompts: maxPrompts(deps),
        timezone,
      });
      await ctx.ack();
      try {
        await new BatchForms(deps.db).opened(formId, ctx.scope);
        await ctx.client.views.open({ trigger_id: ctx.triggerId, view: view as never });
      } catch (error) {
        deps.logger.warn({ err: error, scope: ctx.scope }, 'batch: the form could not be opened');
        await ctx.respond({ response_type: 'ephemeral', ...replies.notice(':warning: The batch form could not be opened. Run `/kling batch` again.') });
      }
    },
  },

  register(app: App, deps: SlackDeps) {
    const forms = new BatchForms(deps.db);
    app.view<ViewSubmitAction>(ActionId.batchSubmit, async ({ ack, body, view, client }) => {
      const refuse = (errors: FormErrors) => ack({ response_action: 'errors', errors: errors as Record<string, string> });
      // The channel is the one Slack sent with the command that opened this modal, never what the view carries.
      const teamId = teamOf(body);
      const formId = view.external_id;
      const channelId = formId ? await forms.channelOf(formId, teamId, body.user.id) : undefined;
      if (!formId || !channelId) {
        const unknown = 'This form is no longer known to the bot. Close it and run `/kling batch` again.';
        return refuse({ [BatchField.prompts]: unknown });
      }
      const scope = { teamId, channelId, userId: body.user.id };

      const read = readBatchForm((view.state?.values ?? {}) as never, maxPrompts(deps));
      if ('errors' in read) return refuse(read.errors);
      const priced = quoteBatch(deps.catalog, read.form, deps.config.DEFAULT_MODEL);
      if ('errors' in priced) return refuse(priced.errors);
      const { quotes } = priced;

      const [usages, workspace] = await Promise.all([deps.ledger.usageFor(scope), deps.ledger.ensureWorkspace(scope.teamId)]);
      const check = checkBatch(quotes, usages);
      if (!check.fits) {
        deps.metrics.refusals.inc({ reason: check.budget.budget.scope });
        return refuse({ [BatchField.prompts]: batchTooExpensive(check, quotes.length, { creditPriceUsd: deps.config.CREDIT_PRICE_USD }) });
      }

      const notBefore = read.form.offPeak ? offPeakStart(new Date(), workspace.timezone) : undefined;
      // The view names this submission: a second submit of the same modal (a double click) queues nothing.
      const asked = quotes.map((quote) => ({ ...scope, quote, notBefore }));
      const result = await deps.queue.enqueue(asked, { key: `view:${view.id}` });
      if ('claimed' in result) return ack();
      if (result.events.length) void deps.notifier.deliverAlerts(scope.teamId);
      if (!result.ok) {
        deps.metrics.refusals.inc({ reason: 'kind' in result.refusal ? result.refusal.kind : result.refusal.budget.scope });
        return refuse({ [BatchField.prompts]: batchRefused(result.refusal, quotes.length) });
      }
      await ack();
      void forms.submitted(formId).catch((error: unknown) => {
        deps.logger.warn({ err: error, scope }, 'batch: the form row could not be removed; it expires in a day');
      });

      startJobs(result.generations.map((job) => job.id), deps);
      const note = batchQueued(quotes, { channelId, notBefore, creditPriceUsd: deps.config.CREDIT_PRICE_USD });
      await client.chat.postEphemeral({ channel: channelId, user: scope.userId, ...note }).catch((error: unknown) => {
        deps.logger.warn({ err: error, scope }, 'batch: the queued note could not be shown; the job cards say it too');
      });
    });
  },
};
