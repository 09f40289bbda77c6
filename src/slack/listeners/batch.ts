import { randomUUID } from 'node:crypto';
import type { App, BlockAction, ViewSubmitAction } from '@slack/bolt';
import { batchModal, batchQueued, batchRefused, batchTooExpensive, type BatchTotal } from '../blocks/batch';
import * as replies from '../blocks/replies';
import { BatchField, quoteBatch, readBatchForm, type FormErrors } from '../commands/batch';
import type { Feature, SlackDeps } from '../deps';
import { ActionId } from '../ids';
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

function modalFor(deps: SlackDeps, formId: string, timezone: string, total: BatchTotal, tag?: string) {
  return batchModal({
    formId,
    models: deps.catalog.models('text2video'),
    defaultModel: deps.config.DEFAULT_MODEL,
    durations: durations(deps),
    maxPrompts: maxPrompts(deps),
    timezone,
    total,
    creditPriceUsd: deps.config.CREDIT_PRICE_USD,
    tag,
  });
}

const FORGOTTEN = 'This form is no longer known to the bot. Close it and run `/kling batch` again.';

/** The form's state as the total shows it: priced only when every line and setting is. */
function priceForm(deps: SlackDeps, values: Parameters<typeof readBatchForm>[0]) {
  const read = readBatchForm(values, maxPrompts(deps));
  if ('errors' in read) return read;
  return quoteBatch(deps.catalog, read.form, deps.config.DEFAULT_MODEL);
}

export const batch: Feature = {
  commands: {
    async batch(ctx, deps) {
      const timezone = await deps.requests.timezoneOf(ctx.scope.teamId);
      const formId = `batch_${randomUUID()}`;
      const view = modalFor(deps, formId, timezone, { kind: 'empty' }, ctx.command.tag);
      await ctx.ack();
      try {
        await deps.batchForms.opened(formId, ctx.scope, ctx.command.tag);
        await ctx.client.views.open({ trigger_id: ctx.triggerId, view });
      } catch (error) {
        deps.logger.warn({ err: error, scope: ctx.scope }, 'batch: the form could not be opened');
        await ctx.respond({
          response_type: 'ephemeral',
          ...replies.notice(':warning: The batch form could not be opened. Run `/kling batch` again.'),
        });
      }
    },
  },

  register(app: App, deps: SlackDeps) {
    const forms = deps.batchForms;

    // Each change to the form re-prices it: the total under the inputs follows what the person enters.
    for (const field of Object.values(BatchField)) {
      app.action<BlockAction>(field, async ({ ack, body, client }) => {
        await ack();
        const view = body.view;
        if (!view?.external_id) return;
        // The channel (and so the budgets) is the one of the command that opened the form, never the view's word.
        const teamId = teamOf(body);
        const actionTs = body.actions[0]?.action_ts ?? '0';
        const form = await forms.changed(view.external_id, teamId, body.user.id, actionTs);
        // Changes can overtake each other on the way: only the newest one's total is worth showing.
        if (form && !form.newest) return;
        const priced = form && priceForm(deps, view.state?.values ?? {});
        const quotes = priced && 'quotes' in priced ? priced.quotes : undefined;
        const scope = { teamId, channelId: form?.channelId ?? '', userId: body.user.id };
        const { timezone, check } = await deps.requests.checkBatchForm(scope, { quotes, tag: form?.tag });
        let total: BatchTotal;
        if (!priced) total = { kind: 'unpriced', reason: FORGOTTEN };
        else if ('errors' in priced) {
          const typed = view.state?.values?.[BatchField.prompts]?.[BatchField.prompts]?.value?.trim();
          const [reason] = Object.values(priced.errors);
          total = typed && reason ? { kind: 'unpriced', reason } : { kind: 'empty' };
        } else total = { kind: 'priced', count: priced.quotes.length, check: check! };

        const updated = modalFor(deps, view.external_id, timezone, total, form?.tag ?? undefined) as never;
        try {
          // The hash: a view updated meanwhile (for an older change that arrived late) is not overwritten blindly.
          await client.views.update({ view_id: view.id, hash: view.hash, view: updated });
        } catch (error) {
          try {
            if ((error as { data?: { error?: string } }).data?.error !== 'hash_conflict') throw error;
            // The inputs keep what the person entered either way (their ids never change): only the total is at
            // stake, and this change's is the one to show when no newer change has come in since.
            if (await forms.stillNewest(view.external_id, actionTs))
              await client.views.update({ view_id: view.id, view: updated });
          } catch (failed) {
            deps.logger.warn({ err: failed, scope }, 'batch: the total could not be shown');
          }
        }
      });
    }

    app.view<ViewSubmitAction>(ActionId.batchSubmit, async ({ ack, body, view, client }) => {
      const refuse = (errors: FormErrors) =>
        ack({ response_action: 'errors', errors: errors as Record<string, string> });
      // The channel is the one Slack sent with the command that opened this modal, never what the view carries.
      const teamId = teamOf(body);
      const formId = view.external_id;
      const form = formId ? await forms.find(formId, teamId, body.user.id) : undefined;
      const channelId = form?.channelId;
      if (!formId || !channelId) return refuse({ [BatchField.prompts]: FORGOTTEN });
      const scope = { teamId, channelId, userId: body.user.id };

      const read = readBatchForm(view.state?.values ?? {}, maxPrompts(deps));
      if ('errors' in read) return refuse(read.errors);
      const priced = quoteBatch(deps.catalog, read.form, deps.config.DEFAULT_MODEL);
      if ('errors' in priced) return refuse(priced.errors);
      const { quotes } = priced;

      // The view names this submission: a second submit of the same modal (a double click) queues nothing.
      const batch = { quotes, offPeak: read.form.offPeak, now: deps.now(), tag: form?.tag };
      const outcome = await deps.requests.batch(scope, batch, { key: `view:${view.id}` });
      const price = { creditPriceUsd: deps.config.CREDIT_PRICE_USD };
      if (outcome.kind === 'too-expensive')
        return refuse({ [BatchField.prompts]: batchTooExpensive(outcome.check, quotes.length, price) });
      if (outcome.kind === 'refused')
        return refuse({ [BatchField.prompts]: batchRefused(outcome.refusal, quotes.length) });
      await ack();
      if (outcome.kind === 'claimed') return;
      void forms.submitted(formId).catch((error: unknown) => {
        deps.logger.warn({ err: error, scope }, 'batch: the form row could not be removed; it expires in a day');
      });

      const { notBefore } = outcome;
      const note = batchQueued(quotes, { channelId, notBefore, ...price });
      await client.chat.postEphemeral({ channel: channelId, user: scope.userId, ...note }).catch((error: unknown) => {
        deps.logger.warn({ err: error, scope }, 'batch: the queued note could not be shown; the job cards say it too');
      });
    });
  },
};
