import type { App, BlockButtonAction } from '@slack/bolt';
import type { RequestScope } from '../../budget';
import type { VideoOutcome } from '../../requests';
import type { Message } from '../blocks/kit';
import * as replies from '../blocks/replies';
import { parseCommand, UsageError } from '../commands/parse';
import { quoteRequest } from '../commands/request';
import type { Feature, SlackDeps } from '../deps';
import { ActionId } from '../ids';
import type { PendingRequest } from '../pending';
import { teamOf } from './payload';

/**
 * `/kling generate` and `/kling estimate`, and the buttons that carry a request on (confirm the
 * price, generate anyway). The reservation happens before the ack: one transaction in the queue.
 */

const QUEUED = ':white_check_mark: Queued. The job card is in the channel.';

/**
 * Prices the request a command or button carries and asks for the video; the answer as a message, none when
 * the job was queued (its card says so in the channel).
 */
export async function requestVideo(
  request: PendingRequest,
  scope: RequestScope,
  deps: SlackDeps,
  claimKey?: string,
): Promise<Message | undefined> {
  const command = parseCommand(request.text);
  if (command.kind !== 'generate')
    throw new UsageError('This button belongs to a /kling generate command.', 'generate');
  // An image kept in Slack goes to Kling as its bytes, checked first; a public URL goes as it is.
  const image = command.flags.image && (await deps.images.forKling(command.flags.image));
  const flags = { ...command.flags, ...(image && { image }) };
  const quote = quoteRequest(deps.catalog, command.prompt, flags, deps.config.DEFAULT_MODEL);
  const claim = claimKey ? { key: claimKey } : undefined;
  const outcome = await deps.requests.video(
    scope,
    { quote, confirmed: request.confirmed, skipDuplicate: request.skipDuplicate, tag: command.flags.tag },
    claim,
  );
  return render(outcome);

  function render(answer: VideoOutcome): Message | undefined {
    const price = { creditPriceUsd: deps.config.CREDIT_PRICE_USD };
    // Each button carries the request on; none asks again about a duplicate already offered.
    const carried = (change: Partial<PendingRequest>) =>
      deps.pending.encode({ ...request, skipDuplicate: true, ...change });
    switch (answer.kind) {
      case 'queued':
        return undefined;
      case 'claimed':
        return replies.alreadyQueued(answer.jobs);
      case 'duplicate':
        return replies.duplicateOffer(answer.earlier, quote, carried({}), price);
      case 'confirm':
        return replies.confirmPrice(quote, answer.thresholdMc, carried({ confirmed: true }), price);
      case 'refused':
        return replies.refusal(answer.refusal, quote, { ...price, approvalValue: carried({ confirmed: true }) });
    }
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

export const generate: Feature = {
  commands: {
    async generate(ctx, deps) {
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
    },

    async estimate(ctx, deps) {
      const { prompt, flags } = ctx.command;
      // The price does not depend on the words: an estimate without a prompt is priced with a stand-in.
      const quote = quoteRequest(deps.catalog, prompt || 'estimate', flags, deps.config.DEFAULT_MODEL);
      const usages = await deps.requests.usageFor(ctx.scope);
      await ctx.ack(replies.estimate(quote, usages, { creditPriceUsd: deps.config.CREDIT_PRICE_USD }));
    },
  },

  register(app: App, deps: SlackDeps) {
    app.action<BlockButtonAction>(ActionId.confirmGenerate, (args) => onRequestButton(args, deps, { confirmed: true }));
    app.action<BlockButtonAction>(ActionId.generateAnyway, (args) =>
      onRequestButton(args, deps, { skipDuplicate: true }),
    );
    app.action<BlockButtonAction>(ActionId.dismiss, async ({ ack, respond }) => {
      await ack();
      await respond({ delete_original: true });
    });
  },
};
