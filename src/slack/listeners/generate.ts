import type { App, BlockButtonAction } from '@slack/bolt';
import { FOLLOW_UP_KINDS, type FollowUpKind } from '../../generations';
import type { Message } from '../blocks/kit';
import * as replies from '../blocks/replies';
import { UsageError } from '../commands/parse';
import { quoteRequest } from '../commands/request';
import type { CommandContext, Feature, SlackDeps } from '../deps';
import { ActionId } from '../ids';
import type { PendingRequest } from '../pending';
import { teamOf } from './payload';
import { requestVideo } from '../video-request';

/**
 * `/kling generate`, `/kling image` and `/kling estimate`, the buttons that carry a request on (confirm the
 * price, generate anyway), and a finished card's follow-ups. The reservation happens before the ack: one
 * transaction in the queue.
 */

const QUEUED = ':white_check_mark: Queued. The job card is in the channel.';

type ButtonArgs = { ack: () => Promise<void>; body: BlockButtonAction; respond: (m: object) => Promise<unknown> };

/**
 * A finished card's Re-roll, Extend or Upgrade: a new request of whoever clicked, answered only to them (the card
 * stays). The card is in the channel for everyone, so the button's claim is per person: a double click queues
 * one job, and the card, re-rendered with fresh claims, takes the next click.
 */
async function onFollowUp(args: ButtonArgs, deps: SlackDeps, kind: FollowUpKind) {
  const { ack, body, respond } = args;
  await ack();
  const answer = (reply: Message) => respond({ response_type: 'ephemeral', replace_original: false, ...reply });
  const request = deps.pending.decode(body.actions[0]!.value ?? '');
  if (!request?.followUp || request.followUp.kind !== kind) {
    await answer(replies.notice('This button has expired. Run the /kling command again.'));
    return;
  }
  const scope = { teamId: teamOf(body), channelId: body.channel?.id ?? '', userId: body.user.id };
  try {
    const claimKey = request.claim ? `button:${request.claim}:${scope.userId}` : undefined;
    const reply = await requestVideo(request, scope, deps, claimKey);
    await answer(reply ?? replies.notice(QUEUED));
    if (!reply) void deps.cards.sync(request.followUp.of);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await answer(replies.usageError(error));
  }
}

/** A pending request carried by a button, re-run for the person who clicked it. */
async function onRequestButton(
  args: { ack: () => Promise<void>; body: BlockButtonAction; respond: (m: object) => Promise<unknown> },
  deps: SlackDeps,
  change: Partial<PendingRequest>,
) {
  const { ack, body, respond } = args;
  await ack();
  const request = deps.pending.decode(body.actions[0]!.value ?? '');
  if (!request) {
    await respond({
      replace_original: true,
      ...replies.notice('This button has expired. Run the /kling command again.'),
    });
    return;
  }
  const scope = { teamId: teamOf(body), channelId: body.channel?.id ?? '', userId: body.user.id };
  try {
    const claimKey = request.claim ? `button:${request.claim}` : undefined;
    const answer = await requestVideo({ ...request, ...change }, scope, deps, claimKey);
    await respond({ replace_original: true, ...(answer ?? replies.notice(QUEUED)) });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await respond({ replace_original: true, ...replies.usageError(error) });
  }
}

/** `/kling generate` and `/kling image`: the request path, answered within Slack's 3 s. */
async function requestFromCommand(ctx: CommandContext<'generate' | 'image'>, deps: SlackDeps): Promise<void> {
  // The trigger_id names this command: a replayed request, or Slack's retry of it, finds its job instead.
  const claimKey = ctx.triggerId ? `command:${ctx.triggerId}` : undefined;
  const answer = requestVideo({ text: ctx.text }, ctx.scope, deps, claimKey);
  // A burst on one budget can keep the hold waiting: rather than miss Slack's 3 s, say so and follow up.
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ctx.ackDeadline - performance.now()), 'late');
  });
  const first = await Promise.race([answer, late]).finally(() => clearTimeout(timer));
  if (first !== 'late') return ctx.ack(first);
  await ctx.ack(replies.notice(':hourglass_flowing_sand: Checking your budgets…'));
  await ctx.respond({
    response_type: 'ephemeral',
    replace_original: true,
    ...((await answer) ?? replies.notice(QUEUED)),
  });
}

export const generate: Feature = {
  commands: {
    generate: requestFromCommand,
    // Images take the same path as videos: priced, held, confirmed, checked for duplicates, carded and settled.
    image: requestFromCommand,
    async estimate(ctx, deps) {
      const { prompt, flags } = ctx.command;
      // The price does not depend on the words: an estimate without a prompt is priced with a stand-in.
      const quote = quoteRequest(deps.catalog, prompt || 'estimate', flags, deps.config.DEFAULT_MODEL, 'estimate');
      // The project tag's budget, if the request carries one, must take it too.
      const usages = await deps.requests.usageFor({ ...ctx.scope, tag: flags.tag });
      await ctx.ack(replies.estimate(quote, usages, { creditPriceUsd: deps.config.CREDIT_PRICE_USD }));
    },
  },

  register(app: App, deps: SlackDeps) {
    app.action<BlockButtonAction>(ActionId.confirmGenerate, (args) => onRequestButton(args, deps, { confirmed: true }));
    app.action<BlockButtonAction>(ActionId.generateAnyway, (args) =>
      onRequestButton(args, deps, { skipDuplicate: true }),
    );
    for (const kind of FOLLOW_UP_KINDS) {
      app.action<BlockButtonAction>(ActionId[kind], (args) => onFollowUp(args, deps, kind));
    }
    app.action<BlockButtonAction>(ActionId.dismiss, async ({ ack, respond }) => {
      await ack();
      await respond({ delete_original: true });
    });
  },
};
